"""API tokens: created with a random secret shown once, kept only as a hash, revoked by id.

A token reads `rollout_<token id>_<secret>`. The id is public (it names the token in lists, logs
and `rollout token revoke`); the secret is 32 random bytes, of which the store keeps only the
SHA-256 hash. A hash of a high-entropy secret needs no salt or slow KDF: nothing can be guessed.
Authentication finds the row by id and compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain.actors import PEOPLE_ROLES, SYSTEM, Actor, PersonRole, Role, reserved_actor_id

PREFIX = "rollout"
DISTRICT_ROLES = (Role.DISTRICT_COORDINATOR, Role.COACH)
"""Roles that act for one district; the others act for the whole state."""
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,200}})$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_UNUSED_HASH = hashlib.sha256(b"no such token").hexdigest()
_COLUMNS = ("token_id, name, role, district, actor_id, created_by, created_at, expires_at, "
            "revoked_at")


class TokenRefused(Exception):
    """The presented token does not let anyone in; the message says why, in one sentence."""


class TokenInfo(BaseModel):
    """A token as lists show it: everything but the secret, which the store never had."""

    # The API answers with it as it is (/me, /tokens): the field names are its wire format.
    model_config = ConfigDict(frozen=True)

    token_id: str
    name: str
    role: PersonRole
    district: str | None
    actor_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def actor(self) -> Actor:
        return Actor(id=self.actor_id, role=self.role, district=self.district)


class NewToken(BaseModel):
    """A token just created, with the full token to hand over: shown once, never stored."""

    model_config = ConfigDict(frozen=True)

    token: str = Field(description="shown this once: the store keeps only its hash")
    info: TokenInfo


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_request(role: Role, district: str | None, days: float | None = None, *,
                  name: str | None = None, actor_id: str | None = None) -> None:
    """Refuse, with a sentence naming the field, a token that could not be used sensibly."""
    if role not in PEOPLE_ROLES:
        raise ValueError(f"role must be one of {', '.join(PEOPLE_ROLES)}, not '{role}'")
    if role in DISTRICT_ROLES and not district:
        raise ValueError(f"district is required for a {role.value} token")
    if role not in DISTRICT_ROLES and district:
        raise ValueError(f"district is only for coordinator and coach tokens; a {role.value} "
                         f"acts for the whole state (got district '{district}')")
    if district and not _SLUG.fullmatch(district):
        raise ValueError(f"district must be a site id such as 'cedar-falls-sd', not '{district}'")
    if days is not None and not 0 < days <= 3650:
        raise ValueError(f"expires-in must be from 1 to 3650 days, not {days:g}")
    for field, value in (("name", name), ("actor", actor_id)):
        if value is not None and not 0 < len(value.strip()) <= 200:
            raise ValueError(f"{field} must be 1 to 200 characters, not {len(value.strip())}")
    if actor_id is not None:
        refuse_reserved(actor_id, "actor")


def refuse_reserved(actor_id: str, field: str) -> None:
    """A token never acts under an id the engine keeps for itself (domain.actors)."""
    if reserved_actor_id(actor_id):
        raise ValueError(f"{field} '{actor_id}' is reserved for the engine itself "
                         f"('{SYSTEM.id}' and every id starting 'rollout-'); a token acts for a "
                         "person: give their staff account")


async def create(pool: asyncpg.Pool, *, role: Role, district: str | None = None,
                 name: str | None = None, actor_id: str | None = None,
                 expires_in: timedelta = timedelta(days=90), created_by: str) -> NewToken:
    """Store a new token's hash and return the token itself (the only time it is available)."""
    role = Role(role)
    check_request(role, district, name=name, actor_id=actor_id)
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    name = (name or (f"{role.value} for {district}" if district else role.value)).strip()
    actor_id = (actor_id or (f"{role.value}.{district}" if district else f"{role.value}.{token_id}")).strip()
    row = await pool.fetchrow(
        f"INSERT INTO api_tokens (token_id, secret_hash, name, role, district, actor_id, "
        f"created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::interval) "
        f"RETURNING {_COLUMNS}",
        token_id, hash_secret(secret), name, role.value, district, actor_id, created_by, expires_in)
    return NewToken(token=f"{PREFIX}_{token_id}_{secret}", info=_info(row))


async def authenticate(pool: asyncpg.Pool, token: str) -> TokenInfo:
    """The token's identity, or TokenRefused saying why it cannot be used."""
    match = _TOKEN.match(token.strip())
    if match is None:
        hmac.compare_digest(_UNUSED_HASH, hash_secret(token))
        raise TokenRefused("The token is not valid; tokens read 'rollout_<id>_<secret>'.")
    token_id, secret = match.groups()
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS}, secret_hash, expires_at <= now() AS expired FROM api_tokens "
        "WHERE token_id = $1", token_id)
    stored = row["secret_hash"] if row else _UNUSED_HASH
    if not hmac.compare_digest(stored, hash_secret(secret)) or row is None:
        raise TokenRefused("The token is not valid.")
    if row["revoked_at"] is not None:
        raise TokenRefused(f"Token {token_id} was revoked on {row['revoked_at']:%Y-%m-%d %H:%M %Z}; "
                           "ask a state administrator for a new one.")
    if row["expired"]:
        raise TokenRefused(f"Token {token_id} expired on {row['expires_at']:%Y-%m-%d %H:%M %Z}; "
                           "ask a state administrator for a new one.")
    return _info(row)


async def revoke(pool: asyncpg.Pool, token_id: str) -> TokenInfo | None:
    """Revoke a token (again is harmless: the first revocation time stays); None when unknown."""
    row = await pool.fetchrow(
        f"UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = $1 "
        f"RETURNING {_COLUMNS}", token_id)
    return _info(row) if row else None


async def list_tokens(pool: asyncpg.Pool, *, include_inactive: bool = False) -> list[TokenInfo]:
    where = "" if include_inactive else "WHERE revoked_at IS NULL AND expires_at > now()"
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM api_tokens {where} ORDER BY created_at, token_id")
    return [_info(r) for r in rows]


def _info(row: asyncpg.Record) -> TokenInfo:
    return TokenInfo(**{name: row[name] for name in TokenInfo.model_fields})
