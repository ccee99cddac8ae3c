"""`rollout token create|revoke|list`: the API's tokens, kept in the event store's database.

The secret is printed once, by `create`; the database keeps only its hash. Exit codes: 0 done;
1 no such token; 2 bad arguments or the database cannot be reached.
"""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from enum import StrEnum

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import NOT_FOUND, fail, read
from cli.ops_target import DATABASE_URL, JSON, target
from domain.actors import PEOPLE_ROLES, Role
from store import tokens
from store.migrate import migrate
from store.tokens import TokenInfo

INVALID = 2

token_app = typer.Typer(no_args_is_help=True,
                        help="Tokens for the HTTP API: create (the secret is shown once), revoke, list.")


TokenRole = StrEnum("TokenRole", {r.name: r.value for r in PEOPLE_ROLES})
"""--role's choices: the roles a person may hold (typer lists an enum's values)."""


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: TokenRole = typer.Option(..., "--role", help="What the token may do."),
    district: str = typer.Option(None, "--district", metavar="DISTRICT_ID",
                                 help="The district (site id) a coordinator or coach acts for."),
    name: str = typer.Option(None, "--name", help="A label for lists (default: role and district)."),
    actor_id: str = typer.Option(None, "--actor", metavar="ACTOR_ID",
                                 help="The staff account recorded when the token acts "
                                      "(default: derived from role and district)."),
    expires_in: int = typer.Option(90, "--expires-in", metavar="DAYS", min=1, max=3650,
                                   help="Days until the token stops working."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """Create a token and print it once: store it now, it cannot be shown again."""
    try:
        tokens.check_request(Role(role), district, expires_in, name=name,
                             actor_id=actor_id)
    except ValueError as problem:
        fail(f"Cannot create the token: {problem}.", INVALID)
    created_by = getpass.getuser()

    async def make(pool: asyncpg.Pool) -> tokens.NewToken:
        await migrate(pool)
        return await tokens.create(pool, role=Role(role), district=district, name=name,
                                   actor_id=actor_id, expires_in=timedelta(days=expires_in),
                                   created_by=created_by)

    created, _ = read(target(database_url=database_url).database_url, make)
    if as_json:
        print(json.dumps({"token": created.token, **_json(created.info)}))
        return
    out = Console(highlight=False, soft_wrap=True)
    out.print(Text(f"Created token {created.info.token_id} ({_who(created.info)}), expires "
                   f"{created.info.expires_at:%Y-%m-%d}. Shown once; keep it safe:"))
    print(created.token)


@token_app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., metavar="TOKEN_ID", help="The token's id (see `rollout token list`)."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """Revoke a token now; requests with it are refused from then on."""

    async def revoke_it(pool: asyncpg.Pool) -> TokenInfo | None:
        await migrate(pool)
        return await tokens.revoke(pool, token_id.strip())

    revoked, _ = read(target(database_url=database_url).database_url, revoke_it)
    if revoked is None:
        fail(f"There is no token '{token_id}'; `rollout token list` shows them.", NOT_FOUND)
    if as_json:
        print(json.dumps(_json(revoked)))
        return
    Console(highlight=False, soft_wrap=True).print(Text(
        f"Revoked token {revoked.token_id} ({_who(revoked)}) at {revoked.revoked_at:%Y-%m-%d %H:%M %Z}."))


@token_app.command("list")
def list_tokens(
    include_inactive: bool = typer.Option(False, "--all", help="Also revoked and expired tokens."),
    database_url: str = DATABASE_URL,
    as_json: bool = JSON,
) -> None:
    """The tokens (never their secrets: the database does not have them)."""

    async def fetch(pool: asyncpg.Pool) -> list[TokenInfo]:
        await migrate(pool)
        return await tokens.list_tokens(pool, include_inactive=include_inactive)

    found, _ = read(target(database_url=database_url).database_url, fetch)
    if as_json:
        for t in found:
            print(json.dumps(_json(t)))
        return
    table = Table(title="API tokens")
    for column in ("id", "name", "role", "district", "actor", "created", "expires", "revoked"):
        table.add_column(column, overflow="fold")
    for t in found:
        table.add_row(*(Text(c) for c in (
            t.token_id, t.name, t.role.value, t.district or "-", t.actor_id,
            f"{t.created_at:%Y-%m-%d}", f"{t.expires_at:%Y-%m-%d}",
            f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "-")))
    Console(highlight=False).print(table)


def _who(t: TokenInfo) -> str:
    return f"{t.role.value}" + (f" for {t.district}" if t.district else "") + f", acting as {t.actor_id}"


def _json(t: TokenInfo) -> dict:
    return {"token_id": t.token_id, "name": t.name, "role": t.role.value, "district": t.district,
            "actor_id": t.actor_id, "created_by": t.created_by,
            "created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
