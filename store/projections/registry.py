"""The projections and the event handlers that feed them.

Each handler turns one event into rows using only the event and its recorded metadata (never the
clock), so the same code serves the live path (inside the append's transaction) and a rebuild
from the events table, and both produce identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

import asyncpg

from domain import events as ev


@dataclass(frozen=True)
class Recorded:
    """An event as stored: its global position and what the append knew besides the event."""

    position: int
    event: ev.Event
    workflow_id: str | None
    recorded_at: datetime


Handler = Callable[[asyncpg.Connection, Recorded], Awaitable[None]]


@dataclass
class Projection:
    name: str
    tables: tuple[str, ...]
    reads: tuple[str, ...] = ()
    """Projections whose tables this one's handlers read: rebuilding one of them rebuilds this too."""
    handlers: dict[str, Handler] = field(default_factory=dict)


PROJECTIONS: dict[str, Projection] = {p.name: p for p in (
    Projection("sites", ("sites",)),
    Projection("tasks", ("tasks",), reads=("sites",)),
    Projection("outbox", ("outbox",), reads=("sites", "tasks")),
    Projection("scores", ("driver_scores", "fidelity_scores")),
    Projection("stage_history", ("site_stage_history",)),
)}
"""In dependency order: an event reaches the projections in this order, so a handler always finds
the rows of the projections it reads (fields that never change once written)."""


def on(projection: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Register a handler of one projection for some event types."""
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            PROJECTIONS[projection].handlers[event_type] = handler
        return handler
    return register


def projection(name: str) -> Projection:
    try:
        return PROJECTIONS[name]
    except KeyError:
        raise ValueError(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}") from None


def with_dependents(name: str) -> list[str]:
    """The projection and every projection that reads it, directly or not, in dependency order."""
    wanted = {projection(name).name}
    for p in PROJECTIONS.values():
        if wanted.intersection(p.reads):
            wanted.add(p.name)
    return [n for n in PROJECTIONS if n in wanted]


async def feed(conn: asyncpg.Connection, checkpoints: dict[str, int], r: Recorded) -> None:
    """Apply one event to each named projection whose checkpoint is behind it."""
    for name, p in PROJECTIONS.items():
        if checkpoints.get(name, r.position) >= r.position:
            continue
        handler = p.handlers.get(r.event.type)
        if handler is not None:
            await handler(conn, r)
