"""The append-only event store: one stream per site rollout and per initiative.

An append is one transaction that locks the stream's row, checks the expected version, inserts the
events with their hash-chain links and updates the live projections, so a read model never shows
an event the store does not hold, nor misses one it does. Event ids derive from stream and
sequence, so a retried batch is recognised by content and stored once. A batch that differs from
events its own workflow stored at those numbers is that workflow deciding steps again (a reset
re-ran the task that decided them): the stored events stand and are handed back to adopt.
"""

from __future__ import annotations

from typing import AsyncIterator, Sequence

import asyncpg
from pydantic import BaseModel, ConfigDict

from domain.events import Event
from store import projections
from store.codec import EVENT_COLUMNS, GENESIS, chain_hash, content, event_from_row, row_content


class ConcurrencyError(Exception):
    """Another writer moved the stream past the version this decision was made on."""

    def __init__(self, stream_id: str, expected: int, actual: int, detail: str = "") -> None:
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        message = f"stream {stream_id}: expected version {expected}, but it is at version {actual}"
        super().__init__(message + (f" ({detail})" if detail else ""))


class AppendResult(BaseModel):
    """What an append did. The recording activity hands it to its workflow as it is, so it is a
    Temporal payload recorded in histories: fields may be added with defaults, never renamed."""

    model_config = ConfigDict(frozen=True)

    appended: int
    duplicates: int
    version: int
    adopted: list[Event] = []
    """When the batch differs from what its own workflow stored after the batch's expected
    version: all of that, for the workflow to adopt; nothing of the batch is stored."""


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(self, stream_id: str, events: Sequence[Event], *, expected_version: int,
                     workflow_id: str | None = None) -> AppendResult:
        """Append events numbered expected_version+1...; events already stored are not re-added."""
        _check_batch(stream_id, events, expected_version)
        if not events:
            return AppendResult(appended=0, duplicates=0,
                                version=await self.stream_version(stream_id))
        as_json = [[e.actor.model_dump(mode="json"), e.payload.model_dump(mode="json")]
                   for e in events]
        async with self.pool.acquire() as conn, conn.transaction():
            version, last_hash, round_tripped = await _lock_stream(conn, stream_id, as_json)
            if version < expected_version:
                raise ConcurrencyError(stream_id, expected_version, version)
            contents = _contents(events, round_tripped)
            duplicates, adopted = await _match_stored(conn, stream_id, expected_version, version,
                                                      contents, workflow_id)
            if adopted:
                return AppendResult(appended=0, duplicates=0, version=version, adopted=adopted)
            fresh = list(zip(events, contents))[duplicates:]
            if not fresh:
                return AppendResult(appended=0, duplicates=duplicates, version=version)
            links = []
            for _, event_content in fresh:
                links.append((last_hash, chain_hash(last_hash, event_content)))
                last_hash = links[-1][1]
            rows = await _insert(conn, stream_id, fresh, links, workflow_id)
            recorded = [projections.Recorded(row["position"], event, workflow_id, row["recorded_at"])
                        for (event, _), row in zip(fresh, rows)]
            await projections.apply(conn, recorded)
            return AppendResult(appended=len(recorded), duplicates=duplicates,
                                version=fresh[-1][0].sequence)

    async def read_stream(self, stream_id: str, after: int = 0,
                          limit: int | None = None) -> list[Event]:
        """The stream's events after version `after`, oldest first (the first `limit` of them)."""
        rows = await self.pool.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 "
            "ORDER BY stream_version LIMIT $3", stream_id, after, limit)
        return [event_from_row(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            "SELECT version FROM streams WHERE stream_id = $1", stream_id)
        return version or 0

    async def read_all(self, after_position: int = 0,
                       limit: int = 1000) -> AsyncIterator[tuple[int, Event]]:
        """Up to `limit` events after a global position, in order. Events of transactions still
        in flight hold back every later position, so a reader paging by position skips none."""
        rows = await self.pool.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 "
            "AND txid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY position LIMIT $2",
            after_position, limit)
        for row in rows:
            yield row["position"], event_from_row(row)

    async def verify(self, stream_id: str) -> int | None:
        """Recompute the stream's hash chain: the first version that fails, or None if it holds."""
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            rows = await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version",
                stream_id)
            head = await conn.fetchrow(
                "SELECT version, last_hash FROM streams WHERE stream_id = $1", stream_id)
        prev = GENESIS
        for expected, row in enumerate(rows, start=1):
            if row["stream_version"] != expected:
                return expected
            if row["prev_hash"] != prev or chain_hash(prev, row_content(row)) != row["hash"]:
                return expected
            prev = row["hash"]
        if head is not None and (head["version"] != len(rows) or head["last_hash"] != prev):
            return len(rows) + 1
        return None


def _check_batch(stream_id: str, events: Sequence[Event], expected_version: int) -> None:
    for offset, event in enumerate(events, start=1):
        if event.stream_id != stream_id:
            raise ValueError(f"event {event.event_id} belongs to {event.stream_id}, not {stream_id}")
        if event.sequence != expected_version + offset:
            raise ValueError(
                f"events for {stream_id} must be numbered from {expected_version + 1} without "
                f"gaps; event {offset} of the batch is #{event.sequence}")


async def _lock_stream(conn: asyncpg.Connection, stream_id: str,
                       as_json: list) -> tuple[int, str, list]:
    """Lock the stream's head row (creating it for a new stream): appends to one stream queue.

    The same round trip passes the batch's actor and payload JSON once through JSONB, so the
    digest covers exactly the values a later read returns."""
    select = ("SELECT version, last_hash, $2::jsonb AS round_tripped FROM streams "
              "WHERE stream_id = $1 FOR UPDATE")
    row = await conn.fetchrow(select, stream_id, as_json)
    if row is None:
        await conn.execute("INSERT INTO streams (stream_id, version, last_hash) VALUES ($1, 0, $2) "
                           "ON CONFLICT (stream_id) DO NOTHING", stream_id, GENESIS)
        row = await conn.fetchrow(select, stream_id, as_json)
    return row["version"], row["last_hash"], row["round_tripped"]


def _contents(events: Sequence[Event], round_tripped: list) -> list[dict]:
    """The hashed content of each event, with its actor and payload as JSONB returned them."""
    return [content(event_id=e.event_id, stream_id=e.stream_id, stream_version=e.sequence,
                    type=e.type, schema_version=e.schema_version, occurred_at=e.occurred_at,
                    actor=actor, payload=payload)
            for e, (actor, payload) in zip(events, round_tripped)]


async def _match_stored(conn: asyncpg.Connection, stream_id: str, expected: int, version: int,
                        contents: list[dict], workflow_id: str | None) -> tuple[int, list[Event]]:
    """How many leading events of the batch are already stored. If some differ and the batch's
    own workflow wrote everything stored after `expected`, it decided those steps again: all of
    them are handed back. From any other writer they are a conflict."""
    if version == expected:
        return 0, []
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 "
        "ORDER BY stream_version", stream_id, expected)
    differing = [row for row, wanted in zip(rows, contents) if row_content(row) != wanted]
    if not differing:
        return min(len(rows), len(contents)), []
    if workflow_id is not None and all(row["workflow_id"] == workflow_id for row in rows):
        return 0, [event_from_row(row) for row in rows]
    raise ConcurrencyError(stream_id, expected, version,
                           f"#{differing[0]['stream_version']} holds a different event")


_INSERT = (
    "WITH batch AS (SELECT * FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], "
    "  $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::text[], $10::text[]) "
    "  AS b(stream_version, event_id, type, schema_version, payload, actor, occurred_at, "
    "       prev_hash, hash)), "
    "inserted AS (INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, "
    "  payload, actor, occurred_at, workflow_id, prev_hash, hash) "
    "  SELECT $1, stream_version, event_id, type, schema_version, payload, actor, occurred_at, "
    "  $11, prev_hash, hash FROM batch ORDER BY stream_version "
    "  RETURNING stream_version, position, recorded_at), "
    "head AS (UPDATE streams SET version = $12, last_hash = $13, updated_at = now() "
    "  WHERE stream_id = $1) "
    "SELECT stream_version, position, recorded_at FROM inserted ORDER BY stream_version")
"""The batch in one statement (positions follow stream order), and the stream's head moved."""


async def _insert(conn: asyncpg.Connection, stream_id: str, fresh: list[tuple[Event, dict]],
                  links: list[tuple[str, str]], workflow_id: str | None) -> list[asyncpg.Record]:
    columns = list(zip(*((c["stream_version"], c["event_id"], c["type"], c["schema_version"],
                          c["payload"], c["actor"], event.occurred_at, prev, link)
                         for (event, c), (prev, link) in zip(fresh, links))))
    try:
        return await conn.fetch(_INSERT, stream_id, *map(list, columns), workflow_id,
                                fresh[-1][0].sequence, links[-1][1])
    except asyncpg.UniqueViolationError as clash:
        raise ValueError(f"an event of this batch is already stored in another stream "
                         f"({clash.detail or clash.constraint_name})") from None
