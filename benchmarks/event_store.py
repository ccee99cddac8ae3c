"""Event store benchmark: append throughput while filling the store, then audit-read latency.

    .venv/bin/python -m benchmarks.event_store --events 1000000 --batch 20 [--concurrency 8]
        [--queries 200] [--json FILE] [--dsn URL] [--no-fsync] [--preload N]

Fill: site rollout histories decided by the domain (benchmarks/site_histories.py), one stream per
school, appended with `EventStore.append` exactly as the workflows append (one transaction per
batch: stream lock, version check, hash chain, live projections), re-chunked to `batch` events per
append, with `concurrency` streams appended at once over a pool of concurrency + 2 connections.
The store ends up holding exactly `events` new events: whole site histories, the last one cut
short (a rollout still in progress). Generating the histories happens inside the timed fill, as
it would in the engine; its CPU time is reported separately.

Measure, with the store full (after ANALYZE, what autovacuum would have done by then), one
query at a time over `queries` random sites each:
- audit_site: a site's full audit, as `rollout audit site` builds it before printing: the
  stream's events in recorded order (`store.audit_queries.stream_events`), the folded state, a
  summary line per event and the reasons behind every stage move (`audit.wording`);
- stream_events: that read alone (SQL + parsing the rows into events);
- read_stream: `EventStore.read_stream` (SQL + parsing), for comparison;
- sql: the rows of stream_events' SQL alone, unparsed: what the database's share is.

Without --dsn the command starts a private PostgreSQL (fsync on unless --no-fsync) in a temporary
directory and removes it afterwards. `run()` is the reusable part: give it any migrated or empty
database.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from benchmarks.preload import preload
from benchmarks.site_histories import SiteSpec, site_history, site_spec
from domain.site_state import fold
from domain.events import SITE_STREAM_PREFIX
from audit.wording import names_in, stage_moves, summarize
from store.audit_queries import stream_events
from store import measurements
from store.db import connect
from store.eventstore import EventStore
from store.migrate import migrate

ProgressFn = Callable[[int, int], None]
"""progress(events appended so far, events requested), called after every append."""

SITES_PER_INITIATIVE = 1000
WARMUP_QUERIES = 5


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of durations in seconds, as milliseconds (nearest-rank)."""
    if not samples_s:
        return {}
    ordered = sorted(samples_s)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    return {"p50_ms": round(rank(50) * 1e3, 3), "p95_ms": round(rank(95) * 1e3, 3),
            "p99_ms": round(rank(99) * 1e3, 3), "max_ms": round(ordered[-1] * 1e3, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1e3, 3), "n": len(ordered)}


@dataclass
class _Fill:
    total: int
    batch: int
    progress: ProgressFn | None
    run_id: str
    rng: random.Random
    mean_cycles: int
    allocated: int = 0
    done: int = 0
    appends: int = 0
    sites: int = 0
    generate_s: float = 0.0
    streams: list[str] = field(default_factory=list)
    append_s: list[float] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)
    """(events done, seconds since start) at each tenth of the fill."""

    def next_site(self) -> tuple[SiteSpec, list] | None:
        """The next site and its history, cut so the fill totals exactly `total` events.

        No await in here: asyncio runs it atomically, so concurrent workers never over-allocate.
        """
        if self.allocated >= self.total:
            return None
        index = self.sites
        spec = site_spec(f"bench-{self.run_id}-{index // SITES_PER_INITIATIVE:03d}", index,
                         self.rng, self.mean_cycles)
        started = time.perf_counter()
        events = site_history(spec)
        self.generate_s += time.perf_counter() - started
        events = events[:self.total - self.allocated]
        self.allocated += len(events)
        self.sites += 1
        self.streams.append(spec.stream_id)
        return spec, events


async def _fill(store: EventStore, fill: _Fill, concurrency: int) -> float:
    started = time.perf_counter()
    next_mark = 1

    async def worker() -> None:
        nonlocal next_mark
        while (site := fill.next_site()) is not None:
            spec, events = site
            workflow_id = f"site-rollout:{spec.initiative_id}:{spec.site_id}"
            for first in range(0, len(events), fill.batch):
                chunk = events[first:first + fill.batch]
                t0 = time.perf_counter()
                await store.append(spec.stream_id, chunk, expected_version=first,
                                   workflow_id=workflow_id)
                t1 = time.perf_counter()
                fill.append_s.append(t1 - t0)
                fill.done += len(chunk)
                fill.appends += 1
                while next_mark <= 10 and fill.done * 10 >= next_mark * fill.total:
                    fill.marks.append((fill.done, t1 - started))
                    next_mark += 1
                if fill.progress is not None:
                    fill.progress(fill.done, fill.total)

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return time.perf_counter() - started


async def _timed(sites: list[str], call: Callable[[str], Awaitable[object]],
                 warmup: list[str]) -> dict[str, float]:
    for stream_id in warmup:
        await call(stream_id)
    samples = []
    for stream_id in sites:
        t0 = time.perf_counter()
        await call(stream_id)
        samples.append(time.perf_counter() - t0)
    return percentiles(samples)


async def audit_site(pool: asyncpg.Pool, stream_id: str) -> tuple[int, int]:
    """A site's full audit as `rollout audit site` computes it (everything but the printing)."""
    audited = await stream_events(pool, stream_id)
    events = [a.event for a in audited]
    state = fold(events)
    names = names_in(events)
    lines = [summarize(e, names) for e in events]
    moves = stage_moves(events)
    assert state.version == len(events) == len(lines)
    return len(events), len(moves)




async def _measure_reads(pool: asyncpg.Pool, streams: list[str], queries: int,
                         rng: random.Random) -> dict[str, dict[str, float]]:
    store = EventStore(pool)
    calls: dict[str, Callable[[str], Awaitable[object]]] = {
        "audit_site": lambda s: audit_site(pool, s),
        "stream_events": lambda s: stream_events(pool, s),
        "read_stream": store.read_stream,
        "sql": lambda s: measurements.raw_stream_read(pool, s),
    }
    results = {}
    for label, call in calls.items():
        # Each kind reads its own random sites, so none is served by pages another just read.
        sample = [rng.choice(streams) for _ in range(queries)]
        warmup = [rng.choice(streams) for _ in range(min(WARMUP_QUERIES, queries))]
        results[label] = await _timed(sample, call, warmup)
    return results


async def run(dsn: str, events: int, batch: int, concurrency: int, queries: int,
              progress: ProgressFn | None = None, *, mean_cycles: int = 4,
              seed: int = 1, preload_events: int = 0) -> dict:
    """Fill the database at `dsn` with exactly `events` new events, then time the reads.

    `mean_cycles` sets the histories' length (0: ~55 events a site, 4: ~105 on average); `seed`
    makes the sites and the sampled reads repeatable. With `preload_events`, that many events are
    bulk-loaded first (benchmarks/preload.py), so the timed appends and the reads happen in a
    store of preload_events + events. Returns the report (plain JSON values)."""
    if events < 1 or batch < 1 or concurrency < 1 or queries < 0:
        raise ValueError("events, batch and concurrency must be at least 1, queries at least 0")
    rng = random.Random(seed)
    pool = await connect(dsn, min_size=concurrency + 2, max_size=concurrency + 2)
    try:
        await migrate(pool)
        preloaded = (await preload(pool, dsn, preload_events, rng=rng, mean_cycles=mean_cycles)
                     if preload_events else None)
        before = await measurements.events_count(pool)
        fill = _Fill(total=events, batch=batch, progress=progress, run_id=uuid.uuid4().hex[:8],
                     rng=rng, mean_cycles=mean_cycles)
        wall = await _fill(EventStore(pool), fill, concurrency)
        await pool.execute("ANALYZE")
        everywhere = fill.streams + (preloaded.streams if preloaded else [])
        reads = await _measure_reads(pool, everywhere, queries, rng) if queries else {}
        plan = await measurements.stream_read_plan(pool, rng.choice(fill.streams))
        stored = await measurements.events_count(pool)
        ours = await measurements.events_count(pool, f"{SITE_STREAM_PREFIX}bench-{fill.run_id}-")
        projected = await measurements.sites_count(pool, f"bench-{fill.run_id}-")
        sizes = await measurements.table_sizes(pool)
        settings = await measurements.server_settings(
            pool, ("server_version", "fsync", "synchronous_commit", "shared_buffers"))
    finally:
        await pool.close()

    def rate(n: float, seconds: float) -> float:
        return n / seconds if seconds > 0 else 0.0

    at_90 = next(((done, t) for done, t in fill.marks if done * 10 >= 9 * events), (0, 0.0))
    deciles, prev = [], (0, 0.0)
    for mark in fill.marks:
        deciles.append(round(rate(mark[0] - prev[0], mark[1] - prev[1]), 1))
        prev = mark
    return {
        "config": {"events": events, "batch": batch, "concurrency": concurrency,
                   "pool_size": concurrency + 2, "queries": queries, "mean_cycles": mean_cycles,
                   "seed": seed, "run_id": fill.run_id},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "postgres": settings},
        "fill": {
            "events": fill.done, "appends": fill.appends, "streams": fill.sites,
            "events_per_stream_mean": round(fill.done / fill.sites, 1) if fill.sites else 0,
            "wall_s": round(wall, 2),
            "events_per_s": round(rate(fill.done, wall), 1),
            "appends_per_s": round(rate(fill.appends, wall), 1),
            "events_per_s_last_10pct": round(rate(fill.done - at_90[0], wall - at_90[1]), 1),
            "events_per_s_by_decile": deciles,
            "append_latency": percentiles(fill.append_s),
            "generate_cpu_s": round(fill.generate_s, 2),
        },
        "preload": {"events": preloaded.events, "streams": len(preloaded.streams),
                    "wall_s": round(preloaded.seconds, 1)} if preloaded else None,
        "reads": reads,
        "stream_events_plan": plan,
        "store": {"events_before": before, "events_after": stored, "events_of_this_run": ours,
                  "sites_projected": projected, "events_total_bytes": sizes["total"],
                  "events_heap_bytes": sizes["heap"], "events_index_bytes": sizes["indexes"],
                  "database_bytes": sizes["db"]},
    }


# --- command line -----------------------------------------------------------------------------

def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def report_table(report: dict) -> Table:
    cfg, fill, reads, store = report["config"], report["fill"], report["reads"], report["store"]
    pg = report["machine"]["postgres"]
    table = Table("measure", "value", title="Event store benchmark", title_justify="left")
    rows = [
        ("events appended / in store", f"{fill['events']:,} / {store['events_after']:,}"),
        ("site streams (mean events)", f"{fill['streams']:,} ({fill['events_per_stream_mean']})"),
        ("batch / concurrency / pool", f"{cfg['batch']} / {cfg['concurrency']} / {cfg['pool_size']}"),
        ("fill wall time", f"{fill['wall_s']:,.1f} s (history generation {fill['generate_cpu_s']:,.1f} s CPU)"),
        ("append events/s overall", f"{fill['events_per_s']:,.0f}"),
        ("append events/s last 10%", f"{fill['events_per_s_last_10pct']:,.0f}"),
        ("appends (batches)/s", f"{fill['appends_per_s']:,.0f}"),
        ("append latency p50 / p95 / p99", _ms(fill["append_latency"])),
    ]
    for label, title in (("audit_site", "audit site (full)"), ("stream_events", "stream_events"),
                         ("read_stream", "read_stream"), ("sql", "SQL rows only")):
        if label in reads:
            rows.append((f"{title} p50 / p95 / p99", _ms(reads[label])))
    if pre := report.get("preload"):
        rows.insert(0, ("events bulk-loaded first", f"{pre['events']:,} in {pre['streams']:,} "
                                                    f"streams ({pre['wall_s']:,.0f} s)"))
    rows += [
        ("events table + indexes", f"{_mib(store['events_total_bytes'])} "
                                   f"(heap {_mib(store['events_heap_bytes'])}, "
                                   f"indexes {_mib(store['events_index_bytes'])})"),
        ("database", _mib(store["database_bytes"])),
        ("PostgreSQL", f"{pg['server_version']}, fsync {pg['fsync']}, synchronous_commit "
                       f"{pg['synchronous_commit']}, shared_buffers {pg['shared_buffers']}"),
        ("machine", f"{report['machine']['cpus']} CPUs, {report['machine']['platform']}"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _ms(p: dict) -> str:
    return f"{p['p50_ms']:.2f} / {p['p95_ms']:.2f} / {p['p99_ms']:.2f} ms" if p else "-"


class _PlainProgress:
    """Progress as a line every `every` seconds, for logs (no terminal)."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.started = every, time.perf_counter()
        self.last = (0, self.started)

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last[1] < self.every and done < total:
            return
        recent = (done - self.last[0]) / (now - self.last[1]) if now > self.last[1] else 0.0
        overall = done / (now - self.started) if now > self.started else 0.0
        print(f"fill: {done:,}/{total:,} events ({100 * done / total:.1f}%), "
              f"{overall:,.0f} events/s overall, {recent:,.0f} events/s lately, "
              f"{now - self.started:,.0f} s", flush=True)
        self.last = (done, now)


async def _main(dsn: str | None, events: int, batch: int, concurrency: int, queries: int,
                fsync: bool, mean_cycles: int, seed: int, console: Console,
                preload_events: int = 0) -> dict:
    async def measure(url: str) -> dict:
        if console.is_terminal:
            with Progress(TextColumn("fill"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                          TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                          TimeRemainingColumn(), console=console, transient=True) as bar:
                task = bar.add_task("fill", total=events, rate="")
                started = time.perf_counter()

                def show(done: int, total: int) -> None:
                    elapsed = time.perf_counter() - started
                    bar.update(task, completed=done,
                               rate=f"{done / elapsed:,.0f} events/s" if elapsed else "")
                result = await run(url, events, batch, concurrency, queries, show,
                                   mean_cycles=mean_cycles, seed=seed,
                                   preload_events=preload_events)
        else:
            result = await run(url, events, batch, concurrency, queries, _PlainProgress(),
                               mean_cycles=mean_cycles, seed=seed, preload_events=preload_events)
        return result

    if dsn:
        return await measure(dsn)
    from devstack.postgres import LocalPostgres
    async with LocalPostgres(fsync=fsync, database="bench") as server:
        console.print(f"private PostgreSQL (fsync {'on' if fsync else 'off'}) in {server.data_dir}")
        return await measure(server.dsn)


app = typer.Typer(add_completion=False)


@app.command()
def main(
    events: int = typer.Option(1_000_000, min=1, help="Events to append (exactly)."),
    batch: int = typer.Option(20, min=1, help="Events per append (one transaction)."),
    concurrency: int = typer.Option(8, min=1, help="Streams appended at once."),
    queries: int = typer.Option(200, min=0, help="Random sites read per kind of read."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the report here."),
    dsn: str | None = typer.Option(None, "--dsn", help="Use this database instead of a private "
                                   "server (migrated if needed; events are added to it)."),
    fsync: bool = typer.Option(True, "--fsync/--no-fsync",
                               help="Private server only: durable commits (the default) or not."),
    mean_cycles: int = typer.Option(4, min=0, help="Months of Full Implementation work a site "
                                    "records on average (0: ~55 events a site, 4: ~105)."),
    seed: int = typer.Option(1, help="Seed for the sites and the sampled reads."),
    preload_events: int = typer.Option(0, "--preload", min=0, help="Bulk-load this many events "
                                       "first (benchmarks/preload.py); the timed appends follow."),
) -> None:
    """Append throughput filling the event store, then a site's audit-read latency."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    report = asyncio.run(_main(dsn, events, batch, concurrency, queries, fsync, mean_cycles,
                               seed, console, preload_events))
    if json_file is not None:
        json_file.write_text(json.dumps(report, indent=2) + "\n")
    console.print(report_table(report))
    if json_file is not None:
        console.print(f"report written to {json_file}")


if __name__ == "__main__":
    app()
