"""`rollout audit verify`: prove the event store is what the workflows decided.

Exit codes: 0 everything holds; 1 a finding (listed by stream and version); 2 the event store
cannot be read. When Temporal cannot be reached only the hash chains are checked, and it says so.
"""

from __future__ import annotations

import asyncio

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import DATABASE_URL, read
from runtime.settings import load_settings
from runtime.temporal import connect
from audit.verify import Verification, cross_check, verify_chains, writer_of
from store.audit_queries import stream_ids

FOUND = 1


def verify(
    initiative_id: str | None = typer.Option(None, "--initiative", help="Only this initiative."),
    temporal_address: str | None = typer.Option(
        None, help="Temporal frontend for the history cross-check (default: $ROLLOUT_TEMPORAL_ADDRESS)."),
    namespace: str | None = typer.Option(None, help="Temporal namespace (default: $ROLLOUT_TEMPORAL_NAMESPACE)."),
    no_temporal: bool = typer.Option(False, "--no-temporal", help="Check the hash chains only."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Recompute every hash chain and cross-check each stream with its workflow's history."""
    settings = load_settings()
    address = None if no_temporal else (temporal_address or settings.temporal_address)
    (result, note), _ = read(database_url, lambda pool: _verify(
        pool, initiative_id, address, namespace or settings.temporal_namespace))
    _report(Console(highlight=False), result, note, address)
    if not result.clean:
        raise typer.Exit(FOUND)


async def _verify(pool: asyncpg.Pool, initiative_id: str | None, address: str | None,
                  namespace: str) -> tuple[Verification, str | None]:
    streams = await stream_ids(pool, initiative_id)
    result = Verification(streams=len(streams), findings=await verify_chains(pool, streams))
    if address is None:
        return result, None
    try:
        client = await asyncio.wait_for(connect(address, namespace), timeout=10)
    except (OSError, RuntimeError, asyncio.TimeoutError) as unreachable:
        return result, f"Temporal is not reachable at {address} ({unreachable}): only the hash chains were checked."
    findings, checked, unavailable = await cross_check(
        client, pool, {s: writer_of(s) for s in streams})
    result.findings += findings
    result.cross_checked, result.not_cross_checked = checked, unavailable
    return result, None


def _report(out: Console, result: Verification, note: str | None, address: str | None) -> None:
    if result.findings:
        table = Table("stream", "version", "problem", title="Verification findings")
        for f in result.findings:
            table.add_row(Text(f.stream_id), str(f.version or "-"), Text(f.problem))
        out.print(table)
    verdict = "FAILED" if result.findings else "OK"
    out.print(Text(f"{verdict}: {result.streams} stream(s), hash chains "
                   f"{'broken in places' if any('hash chain' in f.problem for f in result.findings) else 'intact'}."))
    if note:
        out.print(Text(note, style="yellow"))
    elif address is not None:
        missing = result.not_cross_checked or []
        out.print(Text(f"{result.cross_checked} stream(s) cross-checked with their workflow histories"
                       + (f"; {len(missing)} not (history no longer kept by Temporal)." if missing else ".")))
