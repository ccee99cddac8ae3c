"""`rollout mail`: the notification mail a local stack received, and where each team's mail goes.

- `rollout mail list` / `rollout mail show N`: the messages the local mail sink of `rollout up`
  or `rollout demo` kept under <data dir>/mail (one per Message-ID; a repeat is counted).
- `rollout mail address set|remove|list`: the address a team's notifications are mailed to
  (`state-team`, `district:<district id>`, `coach:<site id>`), kept in the event store's database.
Exit codes: 0 done; 1 no such message or address; 2 bad arguments or no database.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import asyncpg
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.database import DATABASE_URL, NOT_FOUND, fail, read
from cli.local_machine import NoLocalMachine, local_machine
from cli.ops_target import JSON
from runtime.stack_file import VAR
from store import notification_addresses
from store.migrate import migrate

INVALID = 2
mail_app = typer.Typer(no_args_is_help=True, help=(
    "Notification mail: what the local mail sink received (list, show) and each team's "
    "address (address set|remove|list)."))
address_app = typer.Typer(no_args_is_help=True, help=(
    "Where each team's notifications are mailed: state-team, district:<id>, coach:<site id>."))
DATA_DIR = typer.Option(VAR, "--data-dir", metavar="DIR", file_okay=False,
                        help="The local stack's data directory (its mail is in DIR/mail).")


def register(app: typer.Typer) -> None:
    mail_app.add_typer(address_app, name="address")
    app.add_typer(mail_app, name="mail")


def _mailbox(data_dir: Path) -> list:
    try:
        machine = local_machine()
    except NoLocalMachine as missing:
        fail(str(missing), INVALID)
    return machine.mailbox(data_dir / "mail")


@mail_app.command("list")
def list_mail(data_dir: Path = DATA_DIR, as_json: bool = JSON) -> None:
    """The messages the local mail sink received, oldest first."""
    mails = _mailbox(data_dir)
    if as_json:
        for n, m in enumerate(mails, 1):
            print(json.dumps({"number": n, "to": m.first.to, "subject": m.first.subject,
                              "date": m.first.date, "message_id": m.first.message_id,
                              "notification_id": m.first.notification_id, "copies": m.copies,
                              "file": str(m.first.path)}))
        return
    out = Console(highlight=False, soft_wrap=True)
    if not mails:
        out.print(f"No mail in {data_dir / 'mail'} yet. Mail goes to teams with an address: "
                  "`rollout mail address list`.")
        return
    table = Table(title=f"{len(mails)} message(s) in {data_dir / 'mail'}")
    for column in ("#", "date", "to", "subject", "copies"):
        table.add_column(column, overflow="fold")
    for n, m in enumerate(mails, 1):
        table.add_row(str(n), m.first.date, m.first.to, m.first.subject, str(m.copies))
    out.print(table)
    out.print("`rollout mail show N` prints one; each is an .eml file any mail program opens.")


@mail_app.command("show")
def show_mail(number: int = typer.Argument(..., min=1, help="The message's number in the list."),
              data_dir: Path = DATA_DIR) -> None:
    """Print one message as it arrived (headers and body)."""
    mails = _mailbox(data_dir)
    if number > len(mails):
        fail(f"There is no message {number}; {len(mails)} arrived (`rollout mail list`).",
             NOT_FOUND)
    print(mails[number - 1].first.path.read_text(errors="replace"))


@address_app.command("set")
def set_address(
    recipient: str = typer.Argument(..., help="state-team, district:<district id> or coach:<site id>."),
    email: str = typer.Argument(..., help="The address its notifications are mailed to."),
    by: str = typer.Option(None, "--as", metavar="ID", help="Who sets it (default: your login)."),
    database_url: str = DATABASE_URL,
) -> None:
    """Mail this team's notifications to EMAIL from now on."""
    try:
        notification_addresses.check(recipient, email)
    except ValueError as problem:
        fail(f"Cannot set the address: {problem}.", INVALID)

    async def store(pool: asyncpg.Pool) -> None:
        await migrate(pool)
        await notification_addresses.set_address(pool, recipient, email, by or getpass.getuser())

    read(database_url, store)
    Console(highlight=False).print(Text(f"{recipient}'s notifications are mailed to {email}."))


@address_app.command("remove")
def remove_address(recipient: str = typer.Argument(..., help="The team whose address to remove."),
                   database_url: str = DATABASE_URL) -> None:
    """Stop mailing this team (its notifications stay in the application)."""

    async def remove(pool: asyncpg.Pool) -> bool:
        await migrate(pool)
        return await notification_addresses.remove_address(pool, recipient)

    removed, _ = read(database_url, remove)
    if not removed:
        fail(f"'{recipient}' has no address; `rollout mail address list` shows them.", NOT_FOUND)
    Console(highlight=False).print(Text(f"{recipient} is no longer mailed."))


@address_app.command("list")
def list_addresses(database_url: str = DATABASE_URL, as_json: bool = JSON) -> None:
    """Every team with an address."""

    async def fetch(pool: asyncpg.Pool) -> list:
        await migrate(pool)
        return await notification_addresses.addresses(pool)

    found, _ = read(database_url, fetch)
    if as_json:
        for a in found:
            print(json.dumps({"recipient": a.recipient, "email": a.email,
                              "updated_at": a.updated_at.isoformat(), "updated_by": a.updated_by}))
        return
    table = Table(title="Where notifications are mailed")
    for column in ("recipient", "email", "set by", "when"):
        table.add_column(column, overflow="fold")
    for a in found:
        table.add_row(a.recipient, a.email, a.updated_by, f"{a.updated_at:%Y-%m-%d %H:%M}")
    Console(highlight=False).print(table)
