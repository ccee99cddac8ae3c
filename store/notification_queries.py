"""Notifications as their readers see them: the in-app feed narrowed to a reader's teams, unread
first, with each reader's own read state.

Who reads what (the `Audience`): a state admin reads the state team's notifications (and, on
asking, any one team's: what a district was told); a district coordinator reads their district
team's; a coach reads those for the coaches of their district's sites. A reader is named as a
person is (today a token's actor id): marking a notification read marks it for that reader alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from domain.actors import Role
from store.projections.notifications import COACH_PREFIX, STATE_TEAM_RECIPIENT, district_team


@dataclass(frozen=True)
class Audience:
    recipients: tuple[str, ...] | None = ()
    """Recipients read in full; None: every recipient (a state admin opening one by its id)."""
    coaches_in: str | None = None
    """A district whose sites' coach notifications are read too."""


def audience_of(role: Role, district: str | None, team: str | None = None, *,
                whole_state: bool = False) -> Audience:
    """Whose notifications this role reads. A state admin lists the state team's, or the one
    `team` asked for, and with `whole_state` reaches any team's (one opened by its id)."""
    if role is Role.STATE_ADMIN:
        return Audience(None if whole_state else (team or STATE_TEAM_RECIPIENT,))
    if role is Role.DISTRICT_COORDINATOR and district:
        return Audience((district_team(district),))
    if role is Role.COACH and district:
        return Audience(coaches_in=district)
    return Audience()


COLUMNS = ("f.notification_id, f.recipient, f.subject, f.body, f.delivered_at, f.event_id, "
           "f.task_id, s.initiative_id, s.site_id, s.name AS site_name, s.district_id, r.read_at")
_FROM = ("FROM notification_feed f LEFT JOIN sites s ON s.stream_id = f.stream_id "
         "LEFT JOIN notification_reads r ON r.notification_id = f.notification_id "
         "AND r.reader = $3 ")
_SEEN = (f"($1::text[] IS NULL OR f.recipient = ANY($1::text[]) OR ($2::text IS NOT NULL AND s.district_id = $2 "
         f"AND f.recipient LIKE '{COACH_PREFIX}%'))")
_FILTERS = ("($4::text IS NULL OR f.recipient = $4) AND ($5::text IS NULL OR s.site_id = $5) "
            "AND ($6::text IS NULL OR s.initiative_id = $6)")


def _scope(audience: Audience, reader: str, team: str | None, site: str | None,
           initiative: str | None) -> list:
    recipients = None if audience.recipients is None else list(audience.recipients)
    return [recipients, audience.coaches_in, reader, team, site, initiative]


async def notifications(pool: asyncpg.Pool, audience: Audience, reader: str, *,
                        unread_only: bool = False, team: str | None = None,
                        site: str | None = None, initiative: str | None = None,
                        limit: int = 100, offset: int = 0) -> list[asyncpg.Record]:
    """The reader's notifications: unread first, newest first within each."""
    return await pool.fetch(
        f"SELECT {COLUMNS} {_FROM} WHERE {_SEEN} AND {_FILTERS} AND (NOT $7 OR r.read_at IS NULL) "
        "ORDER BY (r.read_at IS NOT NULL), f.delivered_at DESC, f.notification_id "
        "LIMIT $8 OFFSET $9",
        *_scope(audience, reader, team, site, initiative), unread_only, limit, offset)


async def unread_count(pool: asyncpg.Pool, audience: Audience, reader: str, *,
                       team: str | None = None, site: str | None = None,
                       initiative: str | None = None) -> int:
    return await pool.fetchval(
        f"SELECT count(*) {_FROM} WHERE {_SEEN} AND {_FILTERS} AND r.read_at IS NULL",
        *_scope(audience, reader, team, site, initiative))


async def notification(pool: asyncpg.Pool, audience: Audience, reader: str,
                       notification_id: str) -> asyncpg.Record | None:
    """One notification, or None when it does not exist or is not the reader's (callers cannot
    tell which)."""
    return await pool.fetchrow(
        f"SELECT {COLUMNS} {_FROM} WHERE {_SEEN} AND {_FILTERS} AND f.notification_id = $7",
        *_scope(audience, reader, None, None, None), notification_id)


async def mark_read(pool: asyncpg.Pool, audience: Audience, reader: str, notification_id: str,
                    now: datetime) -> asyncpg.Record | None:
    """Mark one notification read for this reader (again: no change); None when not theirs."""
    async with pool.acquire() as conn, conn.transaction():
        if await notification(conn, audience, reader, notification_id) is None:
            return None
        await conn.execute(
            "INSERT INTO notification_reads (notification_id, reader, read_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (reader, notification_id) DO NOTHING", notification_id, reader, now)
        return await notification(conn, audience, reader, notification_id)


async def mark_all_read(pool: asyncpg.Pool, audience: Audience, reader: str, now: datetime, *,
                        team: str | None = None, site: str | None = None,
                        initiative: str | None = None) -> int:
    """Mark read for this reader every notification of theirs delivered by `now`; return how
    many were unread."""
    return int((await pool.execute(
        f"INSERT INTO notification_reads (notification_id, reader, read_at) "
        f"SELECT f.notification_id, $3, $7 {_FROM} WHERE {_SEEN} AND {_FILTERS} "
        "AND r.read_at IS NULL AND f.delivered_at <= $7 "
        "ON CONFLICT (reader, notification_id) DO NOTHING",
        *_scope(audience, reader, team, site, initiative), now)).split()[-1])
