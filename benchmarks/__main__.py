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
import platform
import tempfile
import time
import uuid
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from benchmarks import event_store
from benchmarks.rollouts import (
    WorkerProcess, peak_rss_mib, read_back, replay_rate, run_bare, run_ours)
from devstack.postgres import LocalPostgres
from devstack.search_attributes import SEARCH_ATTRIBUTES
from devstack.temporal import LocalTemporal
from service.temporal import connect
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


async def measure_size(client, address: str, dsn: str, sites: int, speedup: float,
                       work: Path) -> dict:
    initiative_id = f"bench-{sites}-{uuid.uuid4().hex[:6]}"
    ours_worker = WorkerProcess("worker", address, f"ours-{initiative_id}", dsn, work / "ours.log")
    try:
        ours = await run_ours(client, sites, f"ours-{initiative_id}", speedup, round_s=0.05,
                              answer_concurrency=32, initiative_id=initiative_id,
                              progress=progress(f"ours {sites} sites"))
    finally:
        ours_memory = ours_worker.stop()
    started = time.monotonic()
    histories, site_scripts, activities = await read_back(client, initiative_id)
    read_s = time.monotonic() - started
    bare_worker = WorkerProcess("benchmarks.bare_worker", address, f"bare-{initiative_id}", None,
                                work / "bare.log")
    try:
        bare = await run_bare(client, list(site_scripts.values()), f"bare-{initiative_id}",
                              progress(f"bare {sites} sites"))
    finally:
        bare_memory = bare_worker.stop()
    return {
        "sites": sites, "initiative_id": initiative_id,
        "ours": {"wall_s": round(ours.wall_s, 2), "rollouts_per_s": round(ours.per_s, 5),
                 "worker_peak_mib": round(ours_memory, 1)},
        "bare": {"wall_s": round(bare.wall_s, 2), "rollouts_per_s": round(bare.per_s, 5),
                 "worker_peak_mib": round(bare_memory, 1), "activities": bare.activities,
                 "timers": bare.timers, "updates": bare.updates},
        "ratio": round(ours.per_s / bare.per_s, 3),
        "histories": len(histories), "history_read_s": round(read_s, 1),
        "history_events_per_site": round(sum(len(h.events) for h in histories) / sites, 1),
        "activities_by_type": activities,
        "_histories": histories,
    }


async def measure(sizes: list[int], speedup: float, events: int, work: Path) -> dict:
    report: dict = {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
                    "speedup": speedup, "sizes": []}
    with LocalPostgres(fsync=True) as pg, \
            LocalTemporal(db_file=work / "temporal.db", headless=True,
                          search_attributes=SEARCH_ATTRIBUTES) as server:
        pool = await connect_db(pg.dsn)
        await migrate(pool)
        await pool.close()
        client = await connect(server.address)
        for sites in sizes:
            report["sizes"].append(await measure_size(client, server.address, pg.dsn, sites,
                                                      speedup, work))
        histories = report["sizes"][0].pop("_histories")
        for size in report["sizes"]:
            size.pop("_histories", None)
        replayed, per_s = await replay_rate(histories)
        report["replay"] = {"histories": replayed, "per_s": round(per_s, 1)}
        report["server_peak_mib"] = round(peak_rss_mib(server.process.pid), 1)
        if events:
            store_dsn = pg.dsn_for("event_store_bench")
            admin = await connect_db(pg.dsn)
            await admin.execute('CREATE DATABASE "event_store_bench"')
            await admin.close()
            report["event_store"] = await event_store.run(
                store_dsn, events, batch=20, concurrency=8, queries=200,
                progress=progress("event store"))
    return report


def table(report: dict) -> Table:
    t = Table("measure", "value", title="Benchmarks (one run, one dev server)")
    for size in report["sizes"]:
        n = size["sites"]
        t.add_row(f"our rollouts/s at {n} sites", f"{size['ours']['rollouts_per_s']} ({size['ours']['wall_s']} s)")
        t.add_row(f"bare rollouts/s at {n} sites", f"{size['bare']['rollouts_per_s']} ({size['bare']['wall_s']} s)")
        t.add_row(f"ratio ours/bare at {n} sites", str(size["ratio"]))
        t.add_row("per site: activities/timers/updates", "/".join(
            str(round(size["bare"][k] / n, 1)) for k in ("activities", "timers", "updates")))
        t.add_row(f"worker peak MiB at {n} sites (ours/bare)",
                  f"{size['ours']['worker_peak_mib']} / {size['bare']['worker_peak_mib']}")
    t.add_row("histories replayed/s", f"{report['replay']['per_s']} ({report['replay']['histories']} histories)")
    t.add_row("dev server peak MiB", str(report["server_peak_mib"]))
    if store := report.get("event_store"):
        t.add_row("event store append events/s", str(store["fill"]["events_per_s"]))
        t.add_row("site audit p50/p95 ms", f"{store['reads']['audit_site']['p50_ms']} / {store['reads']['audit_site']['p95_ms']}")
    return t


def main(sizes: str = typer.Option("200,1000", help="Concurrent sites per run, comma-separated."),
         speedup: float = typer.Option(4_320_000.0, help="Simulated seconds per real second."),
         events: int = typer.Option(1_000_000, help="Events in the event-store part (0 skips it)."),
         json_out: Path = typer.Option(Path("benchmark-results.json"), "--json")) -> None:
    """Run every benchmark once and print the table."""
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as work:
        report = asyncio.run(measure([int(s) for s in sizes.split(",")], speedup, events, Path(work)))
    json_out.write_text(json.dumps(report, indent=2, default=str))
    Console().print(table(report))
    console.print(f"JSON written to {json_out}")


if __name__ == "__main__":
    typer.run(main)
