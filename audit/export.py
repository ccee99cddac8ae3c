"""Audit output as JSON lines or CSV: one line or row per event, for spreadsheets and scripts.

CSV columns are flat (who, when, what, a readable summary) with the payload as JSON in the last
column. The data are aggregates only (counts of practitioners, never names) and small cells are
suppressed (`domain.privacy`): a withheld count is null and named in the payload's `suppressed`.
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, Sequence, TextIO

from domain import events as ev
from domain.privacy import redact
from audit.wording import min_cell, names_in, summarize

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
