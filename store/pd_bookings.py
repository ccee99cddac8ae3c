"""Booking PD sessions against trainers that many sites share.

Placement is pure (domain.pd_schedule); this module makes it safe under concurrency and retries:
one transaction per site holds an advisory lock keyed on the initiative, reads the trainers'
booked days, lets the caller place the sessions and inserts them, so two sites never take the
same trainer day. A retry finds the rows already booked under its key prefix and returns them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import asyncpg


class PlacedSession(Protocol):
    session_id: str
    trainer_id: str
    date: dt.date
    title: str
    hours: float
    capacity: int


@dataclass(frozen=True)
class Booking:
    session_id: str
    initiative_id: str
    site_id: str
    trainer_id: str
    date: dt.date
    title: str
    hours: float
    capacity: int


Place = Callable[[dict[tuple[str, dt.date], int]], Sequence[PlacedSession]]

_COLUMNS = "session_id, initiative_id, site_id, trainer_id, day AS date, title, hours, capacity"


async def book_sessions(pool: asyncpg.Pool, initiative_id: str, site_id: str, key_prefix: str,
                        place: Place) -> list[Booking]:
    """Book what `place(booked)` returns, given sessions per (trainer id, day) already booked for
    the initiative; or return the sessions booked earlier under `key_prefix`."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           f"pd-bookings:{initiative_id}")
        existing = await _booked_under(conn, initiative_id, key_prefix)
        if existing:
            return existing
        counts = await conn.fetch(
            "SELECT trainer_id, day, count(*) AS n FROM pd_bookings WHERE initiative_id = $1 "
            "GROUP BY trainer_id, day", initiative_id)
        sessions = place({(r["trainer_id"], r["day"]): r["n"] for r in counts})
        strays = [s.session_id for s in sessions if not s.session_id.startswith(key_prefix)]
        if strays:
            raise ValueError(f"session ids must start with {key_prefix!r}: {strays}")
        await conn.executemany(
            "INSERT INTO pd_bookings (session_id, initiative_id, site_id, trainer_id, day, title, "
            "hours, capacity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [(s.session_id, initiative_id, site_id, s.trainer_id, s.date, s.title, s.hours,
              s.capacity) for s in sessions])
        return await _booked_under(conn, initiative_id, key_prefix)


async def _booked_under(conn: asyncpg.Connection, initiative_id: str,
                        key_prefix: str) -> list[Booking]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM pd_bookings WHERE initiative_id = $1 "
        "AND starts_with(session_id, $2) ORDER BY day, session_id", initiative_id, key_prefix)
    return [Booking(**dict(row)) for row in rows]
