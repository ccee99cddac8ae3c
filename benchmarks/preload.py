"""Bulk-load an event store to a given size before the timed appends and reads.

Filling a store to a million events through `EventStore.append` takes this 2-core machine about
five minutes; the combined benchmark cannot spend that and still finish in ten. Its question is
how appends and audit reads behave *at* a million events, so it preloads most of them here and
then times real appends on top (benchmarks/event_store.py).

The preloaded events are real: a few hundred site histories are decided by the domain and
appended through `EventStore.append`, then read back and copied under new site ids (every string
naming the site rewritten, event ids re-derived, each copy with its own hash chain computed over
the values exactly as PostgreSQL returned them) and written with COPY. `EventStore.verify` holds
for every copied stream. The read models are not fed the copies: an audit reads the events.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

import asyncpg

from benchmarks.site_histories import site_history, site_spec
from domain.events import event_id_for
from store import measurements
from store.codec import GENESIS, chain_hash, row_content
from store.eventstore import EventStore

TEMPLATES = 200
"""Distinct site histories decided by the domain; every copy is one of these under a new name."""

_COLUMNS = ("stream_id", "stream_version", "event_id", "type", "schema_version", "payload",
            "actor", "occurred_at", "workflow_id", "prev_hash", "hash")


@dataclass(frozen=True)
class Preloaded:
    events: int
    streams: list[str]
    seconds: float


async def preload(pool: asyncpg.Pool, dsn: str, events: int, *, rng: random.Random,
                  mean_cycles: int = 4, progress: Callable[[int, int], None] | None = None,
                  templates: int = TEMPLATES) -> Preloaded:
    """Add exactly `events` events in whole site streams (the last one cut short)."""
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:8]
    templates = await _templates(pool, run_id, events, templates, rng, mean_cycles)
    loaded = sum(len(rows) for _, rows in templates)
    streams = [stream for stream, _ in templates]
    conn = await asyncpg.connect(dsn)  # plain codecs: COPY takes the JSON as text
    try:
        copy = 0
        while loaded < events:
            batch, heads = [], []
            while loaded < events and len(batch) < 50_000:
                template_stream, rows = templates[copy % len(templates)]
                stream, records = _copy_of(template_stream, rows[:events - loaded],
                                           f"c{copy:06d}")
                batch.extend(records)
                heads.append((stream, len(records), records[-1][-1]))
                streams.append(stream)
                loaded += len(records)
                copy += 1
            async with conn.transaction():
                await conn.copy_records_to_table("events", records=batch, columns=_COLUMNS)
                await conn.copy_records_to_table("streams", records=heads,
                                                 columns=("stream_id", "version", "last_hash"))
            if progress is not None:
                progress(loaded, events)
    finally:
        await conn.close()
    return Preloaded(loaded, streams, time.perf_counter() - started)


async def _templates(pool: asyncpg.Pool, run_id: str, budget: int, count: int,
                     rng: random.Random, mean_cycles: int) -> list[tuple[str, list[asyncpg.Record]]]:
    """Up to `count` site histories decided by the domain and appended the engine's way (no
    more than `budget` events in all), read back as rows."""
    store, found, used = EventStore(pool), [], 0
    for index in range(count):
        if used >= budget:
            break
        spec = site_spec(f"preload-{run_id}", index, rng, mean_cycles)
        history = site_history(spec)[:budget - used]
        used += len(history)
        await store.append(spec.stream_id, history, expected_version=0,
                           workflow_id=f"site-rollout:{spec.initiative_id}:{spec.site_id}")
        rows = await measurements.stream_rows(pool, spec.stream_id)
        found.append((spec.stream_id, rows))
    return found


def _copy_of(template_stream: str, rows: list[asyncpg.Record], tag: str) -> tuple[str, list]:
    """The template's events under a new site id, with new event ids and their own chain."""
    site_id = template_stream.rsplit("/", 1)[1]
    renamed = f"{site_id}-{tag}"
    stream = template_stream[:-len(site_id)] + renamed
    records, prev = [], GENESIS
    for row, content in zip(rows, _renamed_contents(rows, site_id, renamed)):
        content["stream_id"], content["event_id"] = stream, event_id_for(stream, row["stream_version"])
        link = chain_hash(prev, content)
        records.append((stream, row["stream_version"], content["event_id"], row["type"],
                        row["schema_version"], json.dumps(content["payload"]),
                        json.dumps(content["actor"]), row["occurred_at"],
                        (row["workflow_id"] or "").replace(site_id, renamed) or None, prev, link))
        prev = link
    return stream, records


def _renamed_contents(rows: list[asyncpg.Record], old: str, new: str) -> Iterator[dict]:
    for row in rows:
        content = row_content(row)
        yield {**content, "actor": _renamed(content["actor"], old, new),
               "payload": _renamed(content["payload"], old, new)}


def _renamed(value, old: str, new: str):
    """Every string in a JSON value with the site id replaced (keys never name a site)."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value
