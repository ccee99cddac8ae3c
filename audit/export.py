"""Audit output as JSON lines or CSV: one line or row per event, for spreadsheets and scripts.

CSV columns are flat (who, when, what, a readable summary) with the payload as JSON in the last
column. The data are aggregates only (counts of practitioners, never names) and small cells are
suppressed (`domain.privacy`): a withheld count is null and named in the payload's `suppressed`.
The minimum cell size is the plan's, as its InitiativeLaunched event recorded it, raised by what
the reader asks and never below the default (`min_cell_for`): every read, CLI or API, asks here.
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TextIO

import asyncpg

from domain import events as ev
from domain.privacy import applied_min_cell, redact
from audit.wording import min_cell, names_in, summarize
from store.initiative_queries import plan_min_cells

CSV_COLUMNS = ("stream_id", "version", "event_id", "type", "schema_version", "occurred_at",
               "actor_id", "actor_role", "actor_district", "summary", "payload")


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@contextmanager
def destination(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", newline="", encoding="utf-8") as file:
        yield file


def write_json(events: Sequence[ev.Event], out: TextIO) -> None:
    for event in events:
        data = event.model_dump(mode="json")
        data["payload"] = redact(event.type, data["payload"], min_cell.get())
        out.write(json.dumps(data) + "\n")


def write_csv(events: Sequence[ev.Event], out: TextIO) -> None:
    names = names_in(events)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        data = e.model_dump(mode="json")
        writer.writerow([e.stream_id, e.sequence, e.event_id, e.type, e.schema_version,
                         data["occurred_at"], e.actor.id, e.actor.role.value, e.actor.district or "",
                         summarize(e, names),
                         json.dumps(redact(e.type, data["payload"], min_cell.get()), sort_keys=True)])


def export(events: Sequence[ev.Event], fmt: Format, output: Path | None) -> None:
    """Write JSON lines or CSV to `output` (stdout when None)."""
    with destination(output) as out:
        (write_json if fmt is Format.JSON else write_csv)(events, out)


async def min_cell_for(pool: asyncpg.Pool, initiative_ids: Iterable[str], asked: int | None = None) -> int:
    """The minimum cell size a read of these initiatives' events applies (`applied_min_cell`):
    each plan's as recorded at launch, `asked` only raising it."""
    return applied_min_cell(await plan_min_cells(pool, initiative_ids), asked)


def initiatives_of(events: Iterable[ev.Event]) -> set[str]:
    """The initiatives whose streams these events belong to (its own stream, or its sites')."""
    own = ev.initiative_stream("")
    found = set()
    for e in events:
        if ev.is_site_stream(e.stream_id):
            found.add(e.stream_id.removeprefix(ev.SITE_STREAM_PREFIX).split("/", 1)[0])
        elif e.stream_id.startswith(own):
            found.add(e.stream_id.removeprefix(own))
    return found
