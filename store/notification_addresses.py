"""Where each team's mail goes: one address per recipient of the outbox.

Recipients are teams today (store/projections/notifications.py): `state-team`, `district:<id>`,
`coach:<site id>`. A recipient with no address is told in the application only. When people have
accounts with their own addresses, a `person:<id>` recipient can be added here the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from store.projections.notifications import STATE_TEAM_RECIPIENT

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
RECIPIENT = re.compile(rf"^(?:{re.escape(STATE_TEAM_RECIPIENT)}|district:{_SLUG}|coach:{_SLUG})$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
"""A plain address (local part @ domain): what a mail server takes in RCPT TO, no display name."""


@dataclass(frozen=True)
class Address:
    recipient: str
    email: str
    updated_at: datetime
    updated_by: str


def check(recipient: str, email: str) -> None:
    """Refuse, naming the field and the value, an address that could not be used."""
    if not RECIPIENT.fullmatch(recipient):
        raise ValueError(f"recipient must be '{STATE_TEAM_RECIPIENT}', 'district:<district id>' or "
                         f"'coach:<site id>', not {recipient!r}")
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise ValueError(f"email must be a plain address like team@district.example, not {email!r}")


async def set_address(pool: asyncpg.Pool | asyncpg.Connection, recipient: str, email: str,
                      by: str) -> None:
    check(recipient, email)
    await pool.execute(
        "INSERT INTO notification_addresses (recipient, email, updated_by) VALUES ($1, $2, $3) "
        "ON CONFLICT (recipient) DO UPDATE SET email = excluded.email, updated_at = now(), "
        "updated_by = excluded.updated_by", recipient, email, by)


async def remove_address(pool: asyncpg.Pool, recipient: str) -> bool:
    return await pool.fetchval(
        "DELETE FROM notification_addresses WHERE recipient = $1 RETURNING true", recipient) or False


async def address_of(pool: asyncpg.Pool, recipient: str) -> str | None:
    return await pool.fetchval(
        "SELECT email FROM notification_addresses WHERE recipient = $1", recipient)


async def addresses(pool: asyncpg.Pool) -> list[Address]:
    rows = await pool.fetch("SELECT recipient, email, updated_at, updated_by "
                            "FROM notification_addresses ORDER BY recipient")
    return [Address(**dict(r)) for r in rows]
