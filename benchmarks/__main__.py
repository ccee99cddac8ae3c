"""`python -m benchmarks`: the engine against bare Temporal, the event store, replay, memory.

One run on one embedded dev server (and one private PostgreSQL): for each size, our full
four-stage rollouts per second and the bare baseline's with the same activities, timers and
updates (benchmarks/rollouts.py), their ratio; histories replayed per second; the event store's
append throughput and audit-read latency (benchmarks/event_store.py); peak memory of the server
and of each worker process. Prints a table and writes JSON. It reports; it never fails on a number.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from benchmarks import event_store
from benchmarks.cpu import cpu_seconds, postmaster_pid, tree_cpu_seconds
from benchmarks.plans import PACES
from benchmarks.rollouts import (
    WorkerGroup, cache_for, peak_rss_mib, read_back, replay_rate, run_bare, run_ours)
from devstack.postgres import LocalPostgres
from workflows.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal
from runtime.temporal import connect
from store.db import connect as connect_db
from store.migrate import migrate

console = Console(stderr=True)


def progress(label: str):
    last = [0.0]

    def show(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 5 or done == total:
            last[0] = time.monotonic()
            console.print(f"{label}: {done}/{total}")
    return show


@dataclass(frozen=True)
class Servers:
    """The processes both sides share, whose CPU each phase is charged for."""
    temporal_pid: int
    postgres_pid: int


async def measure_size(client, address: str, dsn: str, sites: int, speedup: float,
                       work: Path, workers: int = 2, pace: str = "sprint",
                       servers: Servers | None = None, baseline: bool = True) -> dict:
    initiative_id, cached = f"bench-{sites}-{uuid.uuid4().hex[:6]}", cache_for(sites, workers)
    ours_workers = WorkerGroup("worker", address, f"ours-{initiative_id}", dsn, work / "ours.log",
                               workers, cached)
    pool = await connect_db(dsn, max_size=4)
    try:
        ours, ours_use = await _phase(ours_workers, servers, run_ours(
            client, pool, sites, f"ours-{initiative_id}", speedup, round_s=0.2,
            answer_concurrency=32, initiative_id=initiative_id,
            progress=progress(f"ours {sites} sites"), pace=pace))
    finally:
        await pool.close()
    started = time.monotonic()
    histories, site_scripts, activities = await read_back(client, initiative_id)
    read_s = time.monotonic() - started
    found = {"sites": sites, "initiative_id": initiative_id,
             "ours": {"wall_s": round(ours.wall_s, 2), "rollouts_per_s": round(ours.per_s, 5),
                      **_per_site(ours_use, sites)},
             "histories": len(histories), "history_read_s": round(read_s, 1),
             "history_events_per_site": round(sum(len(h.events) for h in histories) / sites, 1),
             "activities_by_type": activities, "_histories": histories}
    if not baseline:
        return found
    bare_workers = WorkerGroup("benchmarks.bare_worker", address, f"bare-{initiative_id}", None,
                               work / "bare.log", workers, cached)
    bare, bare_use = await _phase(bare_workers, servers, run_bare(
        client, list(site_scripts.values()), f"bare-{initiative_id}", progress(f"bare {sites} sites")))
    return found | {
        "bare": {"wall_s": round(bare.wall_s, 2), "rollouts_per_s": round(bare.per_s, 5),
                 **_per_site(bare_use, sites), "activities": bare.activities,
                 "timers": bare.timers, "updates": bare.updates},
        "ratio": round(ours.per_s / bare.per_s, 3),
        "cpu_ratio": round(bare_use["cpu_s"]["total"] / ours_use["cpu_s"]["total"], 3),
    }


async def _phase(workers: WorkerGroup, servers: Servers | None, run) -> tuple:
    """Run one side; what it cost: CPU seconds per process kind and the workers' peak memory."""
    before = _shared_cpu(servers)
    try:
        result = await run
    finally:
        worker_cpu = sum(cpu_seconds(w.process.pid) for w in workers.workers)
        peak = workers.stop()
    after = _shared_cpu(servers)
    spent = {kind: after[kind] - before[kind] for kind in after}
    spent["workers"] = worker_cpu
    spent["total"] = sum(spent.values())
    return result, {"cpu_s": spent, "worker_peak_mib": peak}


def _shared_cpu(servers: Servers | None) -> dict[str, float]:
    """CPU so far of the servers (when known: not for servers a test suite shares) and of this
    process, which drives the simulated districts or the bare updates."""
    spent = {"driver": cpu_seconds(os.getpid())}
    if servers is not None:
        spent |= {"temporal": cpu_seconds(servers.temporal_pid),
                  "postgres": tree_cpu_seconds(servers.postgres_pid)}
    return spent


def _per_site(use: dict, sites: int) -> dict:
    return {"worker_peak_mib": round(use["worker_peak_mib"], 1),
            "cpu_s_per_site": {k: round(v / sites, 3) for k, v in use["cpu_s"].items()}}


REPLAYED = 400
"""Histories replayed to time the replayer (200 sites leave 1,200, 1,000 sites 6,000; the rate
is per history, so a sample tells it, and the default run stays well inside ten minutes)."""

PACE = ((40, 864_000.0), (200, 172_800.0), (1_000, 8_640.0))
"""(sites, speedup) where the compressed clock kept pace with the machine on two cores (sprint,
two worker processes): a school day every 0.1 s at 40 sites, every 0.5 s at 200, every 10 s at
1,000. A clock that outruns the workers turns tasks overdue and escalated, brings coaching cycles
and reviews round again, and makes the work per site grow (a 1,000-site run at 86,400 had 2
sites done after 38 minutes); at 8,640 every one of 1,000 sites had exactly its 16 tasks."""


def speedup_for(sites: int) -> float:
    """The clock for a run of `sites`: PACE, interpolated between its points on a log-log scale,
    and slowed in proportion beyond the largest."""
    (first, fastest), (last, slowest) = PACE[0], PACE[-1]
    if sites <= first:
        return fastest
    for (n0, s0), (n1, s1) in zip(PACE, PACE[1:]):
        if sites <= n1:
            return s0 * (s1 / s0) ** (math.log(sites / n0) / math.log(n1 / n0))
    return slowest * last / sites


async def measure(sizes: list[int], speedup: float | None, events: int, work: Path, workers: int = 2,
                  pace: str = "sprint", appends: int = 100_000, baseline: bool = True) -> dict:
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "workers": workers, "pace": pace, "sizes": []}
    with LocalPostgres(fsync=True) as pg, \
            LocalTemporal(db_file=work / "temporal.db", headless=True,
                          search_attributes=SEARCH_ATTRIBUTES) as server:
        pool = await connect_db(pg.dsn)
        await migrate(pool)
        await pool.close()
        client = await connect(server.address)
        servers = Servers(server.process.pid, postmaster_pid(pg.data_dir))
        for sites in sizes:
            size = await measure_size(client, server.address, pg.dsn, sites,
                                      speedup or speedup_for(sites), work, workers, pace,
                                      servers, baseline)
            size["speedup"] = speedup or speedup_for(sites)
            report["sizes"].append(size)
            console.print(json.dumps({k: v for k, v in size.items() if k != "_histories"}))
        histories = report["sizes"][0].pop("_histories")
        for size in report["sizes"]:
            size.pop("_histories", None)
        replayed, per_s = await replay_rate(histories[:REPLAYED])
        report["replay"] = {"histories": replayed, "per_s": round(per_s, 1)}
        report["server_peak_mib"] = round(peak_rss_mib(server.process.pid), 1)
        if events:
            store_dsn = pg.dsn_for("event_store_bench")
            admin = await connect_db(pg.dsn)
            await admin.execute('CREATE DATABASE "event_store_bench"')
            await admin.close()
            timed = min(appends, events)
            report["event_store"] = await event_store.run(
                store_dsn, timed, batch=20, concurrency=8, queries=200,
                progress=progress("event store appends"), preload_events=events - timed)
    return report


def table(report: dict) -> Table:
    t = Table("measure", "value", title="Benchmarks (one run, one dev server)")
    for size in report["sizes"]:
        _size_rows(t, size)
    t.add_row("histories replayed/s", f"{report['replay']['per_s']} ({report['replay']['histories']} histories)")
    t.add_row("dev server peak MiB", str(report["server_peak_mib"]))
    if store := report.get("event_store"):
        t.add_row("event store size when timed", f"{store['store']['events_after']:,} events")
        t.add_row("event store append events/s", str(store["fill"]["events_per_s"]))
        t.add_row("site audit p50/p95 ms", f"{store['reads']['audit_site']['p50_ms']} / {store['reads']['audit_site']['p95_ms']}")
    return t


def _size_rows(t: Table, size: dict) -> None:
    n, ours, bare = size["sites"], size["ours"], size.get("bare")
    t.add_row(f"our rollouts/s at {n} sites", f"{ours['rollouts_per_s']} ({ours['wall_s']} s)")
    t.add_row("CPU s per site, ours: workers/temporal/postgres/driver", _cpu_row(ours["cpu_s_per_site"]))
    t.add_row(f"worker peak MiB at {n} sites, ours", str(ours["worker_peak_mib"]))
    t.add_row("history events per site, ours", str(size["history_events_per_site"]))
    if bare is None:
        return
    t.add_row(f"bare rollouts/s at {n} sites", f"{bare['rollouts_per_s']} ({bare['wall_s']} s)")
    t.add_row(f"ratio ours/bare at {n} sites", str(size["ratio"]))
    t.add_row("CPU s per site, bare: workers/temporal/postgres/driver", _cpu_row(bare["cpu_s_per_site"]))
    t.add_row(f"CPU ratio bare/ours at {n} sites", str(size["cpu_ratio"]))
    t.add_row("per site: activities/timers/updates", "/".join(
        str(round(bare[k] / n, 1)) for k in ("activities", "timers", "updates")))
    t.add_row(f"worker peak MiB at {n} sites, bare", str(bare["worker_peak_mib"]))


def _cpu_row(cpu: dict) -> str:
    parts = "/".join(f"{cpu.get(k, 0.0):.3f}" for k in ("workers", "temporal", "postgres", "driver"))
    return f"{parts} = {cpu['total']:.3f}"


def _stop_like_ctrl_c() -> None:
    """SIGTERM, and SIGINT where a shell started the run in the background (which ignores it),
    stop the run as Ctrl-C does: workers, Temporal and PostgreSQL stopped, nothing left behind."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def main(sizes: str = typer.Option("200", help="Concurrent sites per run, comma-separated "
                                   "(200,1000 adds the 1,000-site run)."),
         speedup: float | None = typer.Option(None, help="Simulated seconds per real second "
                                            "(default: slower as the run grows, see speedup_for)."),
         events: int = typer.Option(1_000_000, help="Events in the store when appends and audit "
                                    "reads are timed (0 skips the event-store part)."),
         appends: int = typer.Option(100_000, min=1, help="Of those, appended (and timed) through "
                                     "EventStore.append; the rest are bulk-loaded first."),
         workers: int = typer.Option(2, min=1, max=16, help="Worker processes per side."),
         pace: str = typer.Option("sprint", help="How much work a site's rollout holds "
                                  "(benchmarks/plans.py): sprint (months), brisk (about a school "
                                  "year) or state (the state-scale example's own: about two)."),
         baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also run the bare "
                                       "baseline (--no-baseline: our rollouts alone, e.g. a "
                                       "1,000-district simulation)."),
         json_out: Path = typer.Option(Path("benchmark-results.json"), "--json")) -> None:
    """Run every benchmark once and print the table."""
    if pace not in PACES:
        raise typer.BadParameter(f"must be one of {', '.join(PACES)}, not {pace!r}", param_hint="--pace")
    _stop_like_ctrl_c()
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as work:
        report = asyncio.run(measure([int(s) for s in sizes.split(",")], speedup, events, Path(work),
                                     workers, pace, appends, baseline))
    json_out.write_text(json.dumps(report, indent=2, default=str))
    Console().print(table(report))
    console.print(f"JSON written to {json_out}")


if __name__ == "__main__":
    typer.run(main)
