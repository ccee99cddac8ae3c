"""`rollout audit verify`: prove the event store is what the workflows decided, all of it.

Temporal is found as the other commands find it (`--temporal-address`, else
$ROLLOUT_TEMPORAL_ADDRESS, else the running `rollout up`'s, else its default address), and so is
the event store. Exit codes: 0 everything holds; 1 a finding; 2 the event store cannot be read, or
Temporal could not be asked and `--chains-only` was not given (the hash chains and the store's
own accounts are still checked and reported). Each finding is one line naming the stream and the
version in full, whatever the terminal's width (audit/verify.py says what is checked and why).
"""

from __future__ import annotations

import asyncio

import asyncpg
import typer

from audit.verify import CrossCheckFailed, Finding, Verification, verify_store
from cli.database import DATABASE_URL, UNAVAILABLE, read
from cli.ops_target import TEMPORAL_ADDRESS, target
from runtime.settings import load_settings
from runtime.temporal import connect, connection_options

FOUND = 1
CONNECT_TIMEOUT = 10.0


def verify(
    initiative_id: str | None = typer.Option(None, "--initiative", help="Only this initiative."),
    temporal_address: str | None = TEMPORAL_ADDRESS,
    namespace: str | None = typer.Option(
        None, help="Temporal namespace (default: $ROLLOUT_TEMPORAL_NAMESPACE)."),
    chains_only: bool = typer.Option(
        False, "--chains-only", "--no-temporal",
        help="Check the hash chains and the store's own accounts only, without the workflow "
             "histories: a deleted stream or a chain recomputed by hand may then go unseen."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Recompute every hash chain, account for every stream and cross-check each one with its
    workflow's history in Temporal."""
    address = None
    if not chains_only:
        where = target(temporal_address, database_url)
        address, namespace = where.temporal_address, namespace or where.namespace
    (result, unreachable), _ = read(database_url, lambda pool: _verify(
        pool, initiative_id, address, namespace))
    _report(result, unreachable, address, namespace)
    if not result.clean:
        raise typer.Exit(FOUND)
    if unreachable:
        raise typer.Exit(UNAVAILABLE)


async def _verify(pool: asyncpg.Pool, initiative_id: str | None, address: str | None,
                  namespace: str | None) -> tuple[Verification, str | None]:
    """The verification, and why Temporal could not be asked (None if it was, or was not to be)."""
    if address is None:
        return await verify_store(pool, initiative_id), None
    try:
        client = await asyncio.wait_for(
            connect(address, namespace, **connection_options(load_settings())), CONNECT_TIMEOUT)
    except (OSError, RuntimeError, ValueError, asyncio.TimeoutError) as unreachable:
        why = str(unreachable).strip().splitlines()[0] if str(unreachable).strip() else \
            type(unreachable).__name__
        return await verify_store(pool, initiative_id), f"Temporal is not reachable at {address} ({why})"
    try:
        return await verify_store(pool, initiative_id, client), None
    except CrossCheckFailed as failed:
        return await verify_store(pool, initiative_id), str(failed)


def _report(result: Verification, unreachable: str | None, address: str | None,
            namespace: str | None) -> None:
    """Lines, never a table: a stream id is never cut to fit a narrow terminal."""
    if result.findings:
        typer.echo(f"Verification findings ({len(result.findings)}): stream, version, problem")
        _lines(result.findings)
    chains = "broken in places" if any("hash chain" in f.problem for f in result.findings) \
        else "intact"
    typer.echo(f"{'FAILED' if result.findings else 'OK'}: {result.streams} stream(s), hash chains "
               f"{chains}.")
    if result.notes:
        typer.echo(f"Not findings ({len(result.notes)}): still under way.")
        _lines(result.notes)
    if address is None:
        typer.echo("Only the hash chains and the store's own accounts were checked (--chains-only): "
                   "a stream deleted with its head row, or a chain recomputed by hand, may go unseen.")
    elif unreachable:
        typer.secho(f"NOT CROSS-CHECKED: {unreachable}; the workflow histories were not compared. "
                    "Give --temporal-address, or --chains-only to check without them.",
                    fg=typer.colors.YELLOW, err=True)
    else:
        missing = result.not_cross_checked or []
        typer.echo(f"{result.cross_checked} stream(s) cross-checked with the histories of "
                   f"{result.workflows} workflow(s) at {address} (namespace {namespace})"
                   + (f"; {len(missing)} not (history no longer kept by Temporal):" if missing
                      else "."))
        for stream_id in missing:
            typer.echo(f"  {stream_id}")
    for remark in result.remarks:
        typer.echo(remark)


def _lines(findings: list[Finding]) -> None:
    for finding in findings:
        typer.echo(f"  {finding.line()}")
