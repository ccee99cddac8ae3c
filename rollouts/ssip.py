"""The SSIP as the state team works it: record Phase I and II, each year's Phase III figures, and
read where the SSIP stands. The CLI (`rollout ssip`, cli/ssip_commands.py) is its way in; the
annual report (report/ssip.py) prints what it records.

Every entry is decided by domain/ssip.py on the SSIP's stream and appended through the event
store with the person who made it, stamped with the initiative's school time (as its workflows
stamp theirs, from the clock its launch recorded). Entering what a yearly task asks for completes
the task. A refusal is `SsipRefused`: `not_found` (no such initiative) or `invalid` (the rules
said no), with the field and value it is about.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Literal

import asyncpg
from temporalio.client import Client
from pydantic import ValidationError

from domain import ssip
from domain.actors import Actor
from domain.errors import DomainError
from domain.ssip_documents import PhaseOne, PhaseThree, PhaseTwo, commands_for
from domain.ssip_records import FFY_RANGE, SimrDefinition
from domain.ssip import execute as decide_commands
from store import ssip_stream
from store.ssip_stream import Launched
from rollouts.operations import start_ssip_cycle
from workflows.ssip_cycle import first_ffy

Kind = Literal["not_found", "invalid"]
Decision = Callable[[ssip.SsipState, datetime], list[ssip.Command]]


class SsipRefused(Exception):
    def __init__(self, kind: Kind, message: str, field: str | None = None,
                 value: object = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.field, self.value = kind, message, field, value


@dataclass(frozen=True)
class Recorded:
    state: ssip.SsipState
    recorded: list[str]
    """The event types appended (empty: it was recorded already)."""
    completed_tasks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SsipView:
    launched: Launched
    state: ssip.SsipState

    @property
    def statement(self) -> str:
        """The SiMR as recorded, else the plan's sentence."""
        return self.state.simr.statement if self.state.simr else self.launched.simr


async def view(pool: asyncpg.Pool, initiative_id: str) -> SsipView:
    launched = await _launched(pool, initiative_id)
    return SsipView(launched, await ssip_stream.read(pool, initiative_id))


async def act(pool: asyncpg.Pool, initiative_id: str, decision: Decision,
              now: datetime | None = None) -> Recorded:
    """Decide the commands on the SSIP's current state and record what they change."""
    launched = await _launched(pool, initiative_id)
    at = school_now(launched, now)
    try:
        state, events = await ssip_stream.record(
            pool, initiative_id, lambda s: decide_commands(s, decision(s, at))[1])
    except DomainError as refused:
        raise SsipRefused("invalid", refused.message, refused.field, refused.value) from None
    return Recorded(state, [e.type for e in events],
                    [e.payload.task_id for e in events if e.type == "SsipTaskCompleted"])


def school_now(launched: Launched, now: datetime | None = None) -> datetime:
    real = now or datetime.now(timezone.utc)
    return launched.school_clock.school_now(real) if launched.school_clock else real


async def define_simr(pool: asyncpg.Pool, initiative_id: str, actor: Actor, *,
                      baseline: float, baseline_ffy: int, statement: str | None = None,
                      measure: str, direction: str = "increase", data_source: str = "",
                      reason: str = "", now: datetime | None = None) -> Recorded:
    """Record the SiMR with its baseline; its statement defaults to the plan's sentence."""
    launched = await _launched(pool, initiative_id)
    simr = _checked(lambda: SimrDefinition(
        statement=statement or launched.simr, measure=measure, baseline=baseline,
        baseline_ffy=baseline_ffy, direction=direction, data_source=data_source))
    return await act(pool, initiative_id, lambda s, at: [
        ssip.DefineSimr(at=at, actor=actor, simr=simr, reason=reason)], now)


async def set_target(pool: asyncpg.Pool, initiative_id: str, actor: Actor, *, ffy: int,
                     percent: float, reason: str = "", now: datetime | None = None) -> Recorded:
    return await act(pool, initiative_id, lambda s, at: [_checked(lambda: ssip.SetTarget(
        at=at, actor=actor, ffy=ffy, percent=percent, reason=reason))], now)


async def record_actual(pool: asyncpg.Pool, initiative_id: str, actor: Actor, *, ffy: int,
                        percent: float, data_source: str = "", note: str = "", reason: str = "",
                        now: datetime | None = None) -> Recorded:
    return await act(pool, initiative_id, lambda s, at: [_checked(lambda: ssip.RecordActual(
        at=at, actor=actor, ffy=ffy, percent=percent, data_source=data_source, note=note,
        reason=reason))], now)


async def record_document(pool: asyncpg.Pool, initiative_id: str, actor: Actor,
                          document: PhaseOne | PhaseTwo | PhaseThree,
                          now: datetime | None = None) -> Recorded:
    """Every part of a phase document in one append: all of it is recorded or none."""
    return await act(pool, initiative_id, lambda s, at: commands_for(document, at, actor), now)


async def import_actuals(pool: asyncpg.Pool, initiative_id: str, actor: Actor, text: str, *,
                         source: str = "<file>", reason: str = "",
                         now: datetime | None = None) -> Recorded:
    """SiMR actuals (and targets) from CSV with a header: `ffy,actual[,target][,data_source]`,
    as a state's data office exports them; all rows are recorded in one append, or none."""
    rows = parse_actuals_csv(text, source)

    def decision(state: ssip.SsipState, at: datetime) -> list[ssip.Command]:
        out: list[ssip.Command] = []
        for row in rows:
            if row.target is not None:
                out.append(_checked(lambda: ssip.SetTarget(at=at, actor=actor, ffy=row.ffy,
                                                           percent=row.target, reason=reason)))
            if row.actual is not None:
                out.append(_checked(lambda: ssip.RecordActual(
                    at=at, actor=actor, ffy=row.ffy, percent=row.actual, source="imported",
                    data_source=row.data_source, reason=reason)))
        return out
    return await act(pool, initiative_id, decision, now)


@dataclass(frozen=True)
class CsvRow:
    ffy: int
    actual: float | None
    target: float | None
    data_source: str


def parse_actuals_csv(text: str, source: str = "<file>") -> list[CsvRow]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "ffy" not in columns or not ({"actual", "target"} & set(columns)):
        raise SsipRefused("invalid", f"{source}: the first line must name the columns, with "
                          "'ffy' and 'actual' (and optionally 'target', 'data_source'); found "
                          f"{', '.join(columns) or 'nothing'}.", "header", ",".join(columns))
    rows = []
    for line, raw in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        ffy = _number(cells.get("ffy", ""), int, source, line, "ffy")
        if not FFY_RANGE[0] <= ffy <= FFY_RANGE[1]:
            raise SsipRefused("invalid", f"{source}, line {line}: ffy {ffy} is not a federal "
                              f"fiscal year from {FFY_RANGE[0]} to {FFY_RANGE[1]}.", "ffy", ffy)
        actual, target = (_number(cells[c], float, source, line, c) if cells.get(c) else None
                          for c in ("actual", "target"))
        rows.append(CsvRow(ffy, actual, target, cells.get("data_source", "")))
    if not rows:
        raise SsipRefused("invalid", f"{source} has no rows under its header.", "rows", 0)
    return rows


async def start_cycle(client: Client, pool: asyncpg.Pool, initiative_id: str, *,
                      task_queue: str) -> str:
    """Start the yearly cycle giving the state team its SSIP tasks, for an initiative launched
    before the launch started one beside it (a running cycle is left as it is)."""
    launched = await _launched(pool, initiative_id)
    if launched.school_clock is None:
        raise SsipRefused("invalid", f"Initiative '{initiative_id}' was launched before its "
                          "school clock was recorded; its SSIP cycle cannot tell its school "
                          "time.", "initiative_id", initiative_id)
    return await start_ssip_cycle(client, initiative_id, task_queue=task_queue,
                                  clock=launched.school_clock,
                                  ffy=first_ffy(launched.school_clock.origin_school.date()))


async def _launched(pool: asyncpg.Pool, initiative_id: str) -> Launched:
    launched = await ssip_stream.launched(pool, initiative_id)
    if launched is None:
        raise SsipRefused("not_found", f"There is no initiative '{initiative_id}' (its launch "
                          "is not recorded).", "initiative_id", initiative_id)
    return launched


def _checked(build):
    """Build a record or command, turning pydantic's refusal into an SsipRefused."""
    try:
        return build()
    except ValidationError as failure:
        error = failure.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "value"
        raise SsipRefused("invalid", f"{where}: {error['msg'].removeprefix('Value error, ')} "
                          f"(got {error.get('input')!r}).", where, error.get("input")) from None


def _number(text: str, kind, source: str, line: int, column: str):
    try:
        return kind(text)
    except ValueError:
        raise SsipRefused("invalid", f"{source}, line {line}: {column} '{text}' is not a "
                          f"{'whole number' if kind is int else 'number'}.", column,
                          text) from None
