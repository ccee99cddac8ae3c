"""The SSIP's stream in the event store: read it, and record a decision on it.

`record` reads the stream, lets the caller decide on the folded state, and appends the events
with the stream's version as the expected one; when someone else appended meanwhile (the yearly
cycle assigning tasks while the state team enters a figure) it reads again and decides again, so
no decision is ever made on a stale state. Everything one decision yields is one append: all of
it is recorded or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import asyncpg

from domain import events as ev
from domain import ssip
from domain.school_clock import SchoolClock
from store.eventstore import ConcurrencyError, EventStore

ATTEMPTS = 5
"""Reads and decisions before giving up on a stream others keep appending to."""


@dataclass(frozen=True)
class Launched:
    """What the initiative's launch recorded that the SSIP needs."""

    initiative_id: str
    name: str
    ssip_phase: str
    simr: str
    """The plan's SiMR sentence: the SiMR until one is recorded with its baseline."""
    launched_at: datetime
    school_clock: SchoolClock | None
    """How real time maps to the initiative's school time (None: recorded before clocks were)."""


async def launched(pool: asyncpg.Pool, initiative_id: str) -> Launched | None:
    row = await pool.fetchrow(
        "SELECT payload, occurred_at FROM events WHERE stream_id = $1 "
        "AND type = 'InitiativeLaunched' ORDER BY stream_version LIMIT 1",
        ev.initiative_stream(initiative_id))
    if row is None:
        return None
    p = row["payload"]
    clock = p.get("school_clock")
    return Launched(initiative_id, p["name"], p["ssip_phase"], p["simr"], row["occurred_at"],
                    SchoolClock.model_validate(clock) if clock else None)


async def last_rollout_event_at(pool: asyncpg.Pool, initiative_id: str) -> datetime | None:
    """The school time of the initiative's latest event (its own stream and its sites')."""
    sites = ev.site_streams_of(initiative_id)
    return await pool.fetchval(
        "SELECT max(occurred_at) FROM events WHERE stream_id = $1 OR starts_with(stream_id, $2)",
        ev.initiative_stream(initiative_id), sites)


async def read(pool: asyncpg.Pool, initiative_id: str) -> ssip.SsipState:
    events = await EventStore(pool).read_stream(ev.ssip_stream(initiative_id))
    return ssip.fold(events, ssip.empty(initiative_id))


async def record(pool: asyncpg.Pool, initiative_id: str,
                 decide: Callable[[ssip.SsipState], list[ev.Event]], *,
                 workflow_id: str | None = None) -> tuple[ssip.SsipState, list[ev.Event]]:
    """The state after the decision and the events it recorded (none: nothing changed). A
    DomainError from `decide` propagates with nothing written."""
    store = EventStore(pool)
    for attempt in range(ATTEMPTS):
        state = await read(pool, initiative_id)
        events = decide(state)
        if not events:
            return state, []
        try:
            await store.append(state.stream_id, events, expected_version=state.version,
                               workflow_id=workflow_id)
        except ConcurrencyError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return ssip.fold(events, state), events
    raise AssertionError("unreachable")
