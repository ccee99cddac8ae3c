"""`rollout board INITIATIVE`: sites per stage over time, per cohort or region, drawn as bars.

Read from the stage-history projection, so it shows the board as it stood at each moment, not
only today's.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from enum import StrEnum

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import DATABASE_URL, NOT_FOUND, fail, read
from domain.board import COLUMNS, NOT_STARTED, column
from domain.stages import Stage
from store.board_queries import BoardCell, board_at, history_span, moments_between

HEADERS = {NOT_STARTED: "Not\nstarted", Stage.INITIAL_IMPLEMENTATION.value: "Initial\nImpl.",
           Stage.FULL_IMPLEMENTATION.value: "Full\nImpl."}
STYLES = {NOT_STARTED: "grey50", Stage.EXPLORATION.value: "yellow", Stage.INSTALLATION.value: "cyan",
          Stage.INITIAL_IMPLEMENTATION.value: "blue", Stage.FULL_IMPLEMENTATION.value: "green",
          "Completed": "bold green", "Paused": "magenta", "Cancelled": "red"}
BAR_WIDTH = 30


class GroupBy(StrEnum):
    NONE = "none"
    COHORT = "cohort"
    REGION = "region"


def register(app: typer.Typer) -> None:
    app.command("board")(board)


def board(
    initiative_id: str = typer.Argument(..., help="The initiative's id."),
    points: int = typer.Option(8, min=2, max=60, help="How many moments, evenly spaced."),
    by: GroupBy = typer.Option(GroupBy.NONE, "--by", help="One board per cohort or per region."),
    database_url: str | None = DATABASE_URL,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per cell."),
) -> None:
    """The initiative's stage board over time: sites per stage, from enrolment to now."""
    cells, _ = read(database_url, lambda pool: _cells(pool, initiative_id, points))
    if cells is None:
        fail(f"No stage history recorded for initiative '{initiative_id}'.", NOT_FOUND)
    if as_json:
        for c in cells:
            print(json.dumps({**c.model_dump(), "at": c.at.isoformat()}))
        return
    out = Console(highlight=False)
    for group, group_cells in _grouped(cells, by).items():
        out.print(_table(f"{initiative_id}{group}", group_cells))
    out.print(Text("  ".join(f"█ {c}" for c in COLUMNS), style="dim"))


async def _cells(pool: asyncpg.Pool, initiative_id: str, points: int) -> list[BoardCell] | None:
    span = await history_span(pool, initiative_id)
    if span is None:
        return None
    return await board_at(pool, initiative_id, moments_between(*span, points))


def _grouped(cells: list[BoardCell], by: GroupBy) -> dict[str, list[BoardCell]]:
    groups: dict[str, list[BoardCell]] = defaultdict(list)
    for c in cells:
        key = {GroupBy.NONE: "", GroupBy.COHORT: f", cohort {c.cohort_id}",
               GroupBy.REGION: f", {c.region} region"}[by]
        groups[key].append(c)
    return dict(sorted(groups.items()))


def _table(title: str, cells: list[BoardCell]) -> Table:
    by_moment: dict = defaultdict(Counter)
    for c in cells:
        by_moment[c.at][column(c.stage, c.status)] += c.sites
    widest = max(sum(counts.values()) for counts in by_moment.values())
    table = Table("as of", *(HEADERS.get(c, str(c)) for c in COLUMNS), title=f"Stage board, {title}")
    table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for at, counts in sorted(by_moment.items()):
        table.add_row(f"{at:%Y-%m-%d}", *(str(counts[c] or "") for c in COLUMNS),
                      _bar(counts, widest))
    return table


def _bar(counts: Counter, widest: int) -> Text:
    bar = Text()
    for c in COLUMNS:
        bar.append("█" * round(BAR_WIDTH * counts[c] / widest), style=STYLES[c])
    return bar
