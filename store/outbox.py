"""Delivering the outbox: at least once, with backoff, and never twice to the same channel.

Notifications are written by the projections in the append's transaction, so none is lost when a
process dies. A dispatcher claims due rows by pushing their next attempt past a lease (other
dispatchers skip them; a crashed one's claim simply expires), delivers, then marks each sent or
failed. Channels key deliveries on the notification id, so a repeated delivery shows up once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import asyncpg

LEASE = timedelta(minutes=5)
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Notification:
    notification_id: str
    event_id: str
    stream_id: str
    recipient: str
    subject: str
    body: str
    attempts: int


class Channel(Protocol):
    async def deliver(self, notification: Notification) -> None:
        """Deliver or raise; delivering the same notification again must not duplicate it."""


class InAppFeed:
    """The in-app channel: a row per notification in the recipient's feed."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def deliver(self, notification: Notification) -> None:
        await self.pool.execute(
            "INSERT INTO notification_feed (notification_id, recipient, subject, body) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (notification_id) DO NOTHING",
            notification.notification_id, notification.recipient, notification.subject,
            notification.body)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: 30 s, 1 min, 2 min ... up to 6 h."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))


async def claim_due(pool: asyncpg.Pool, limit: int, now: datetime) -> list[Notification]:
    rows = await pool.fetch(
        "UPDATE outbox SET next_attempt_at = $3 WHERE notification_id IN ("
        "  SELECT notification_id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2"
        "  ORDER BY next_attempt_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING notification_id, event_id, stream_id, recipient, subject, body, attempts",
        limit, now, now + LEASE)
    return sorted((Notification(**dict(row)) for row in rows), key=lambda n: n.notification_id)


async def mark_sent(pool: asyncpg.Pool, notification_id: str, now: datetime) -> None:
    await pool.execute(
        "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, "
        "last_error = NULL WHERE notification_id = $1", notification_id, now)


async def mark_failed(pool: asyncpg.Pool, notification_id: str, error: str,
                      now: datetime) -> str:
    """Record a failed try; retry later with exponential backoff, give up after MAX_ATTEMPTS.
    Returns the notification's status afterwards ('pending' or 'failed')."""
    async with pool.acquire() as conn, conn.transaction():
        attempts = await conn.fetchval(
            "SELECT attempts FROM outbox WHERE notification_id = $1 FOR UPDATE", notification_id)
        if attempts is None:
            raise LookupError(f"no notification {notification_id!r} in the outbox")
        attempts += 1
        status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        await conn.execute(
            "UPDATE outbox SET attempts = $2, status = $3, next_attempt_at = $4, last_error = $5 "
            "WHERE notification_id = $1",
            notification_id, attempts, status, now + backoff(attempts), error[:2000])
    return status


async def dispatch_once(pool: asyncpg.Pool, channel: Channel, now: datetime | None = None,
                        limit: int = 100) -> int:
    """Deliver the notifications due at `now` (default: the wall clock); return how many went."""
    now = now or datetime.now(timezone.utc)
    delivered = 0
    for notification in await claim_due(pool, limit, now):
        try:
            await channel.deliver(notification)
        except Exception as problem:  # any channel failure is retried later, never lost
            await mark_failed(pool, notification.notification_id,
                              f"{type(problem).__name__}: {problem}", now)
            continue
        await mark_sent(pool, notification.notification_id, now)
        delivered += 1
    return delivered
