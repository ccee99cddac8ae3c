"""Delivering the outbox: in the application and by mail, with backoff, each message sent once.

Notifications are written by the projections in the append's transaction, so none is lost when a
process dies. A dispatcher claims due rows by pushing their next attempt past a lease and stamping
them with a claim token (other dispatchers skip them; a crashed one's claim simply expires), then
for each row: records that it is handing the row over (`sending_since`, only while its claim still
holds), delivers it on every channel, and records it sent or failed.

What "sent once" means, honestly. SMTP cannot take a message and its acknowledgement in one
atomic step with our database, so no sender can promise exactly-once by itself; we promise:
- never two dispatchers sending one notification at the same time: a send starts only under a
  live claim (`mark_sending` checks the token) with at least SEND_BUDGET of its lease left;
- a message the server accepted is recorded as sent before anything else happens, retried through
  a database outage (a PostgreSQL restart) until the store answers (`record_sent`), so an outage
  shorter than the lease never resends it;
- the one window left is a process killed (SIGKILL, power loss) after the server accepted a
  message and before the store recorded it, or a connection lost while waiting for the server's
  reply: the row still says `sending_since`, so the next claim knows the earlier send is
  uncertain and sends again, marked as a resend, with the same Message-ID (derived from the
  notification id, runtime/mail.py). A receiving system that keys on Message-ID (as mail clients
  and our local sink do) shows it once. That is at-least-once delivery, exactly-once in every
  case but a crash inside that window.
A graceful stop (SIGTERM) finishes the message in hand and records it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import asyncpg
import structlog

from store.db import DATABASE_TROUBLE

log = structlog.get_logger("outbox")

LEASE = timedelta(minutes=5)
SEND_BUDGET = timedelta(seconds=60)
"""A send starts only with this much of the lease left (beyond the mail client's own timeouts)."""
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 8
_COLUMNS = ("notification_id, event_id, stream_id, recipient, subject, body, attempts, task_id, "
            "claim_token, sending_since IS NOT NULL AS uncertain")


@dataclass(frozen=True)
class Notification:
    notification_id: str
    event_id: str
    stream_id: str
    recipient: str
    subject: str
    body: str
    attempts: int
    task_id: str | None = None
    claim_token: str | None = None
    uncertain: bool = False
    """A previous dispatcher began handing this notification over and never recorded how it went:
    this delivery may repeat one that arrived."""


class Channel(Protocol):
    async def deliver(self, notification: Notification) -> None:
        """Deliver or raise; delivering the same notification again must be recognisable as the
        same (the feed keeps one row, a mail carries the same Message-ID)."""


class UncertainDelivery(Exception):
    """The channel handed the message over and lost the answer: it may have arrived."""


class InAppFeed:
    """The in-app channel: a row per notification in the recipient's feed."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def deliver(self, notification: Notification) -> None:
        n = notification
        await self.pool.execute(
            "INSERT INTO notification_feed (notification_id, recipient, subject, body, event_id, "
            "stream_id, task_id) VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (notification_id) DO NOTHING",
            n.notification_id, n.recipient, n.subject, n.body, n.event_id, n.stream_id, n.task_id)


class Channels:
    """Several channels in turn (the feed first: it shows even while mail cannot go out)."""

    def __init__(self, *channels: Channel) -> None:
        self.channels = channels

    async def deliver(self, notification: Notification) -> None:
        for channel in self.channels:
            await channel.deliver(notification)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failures: 30 s, 1 min, 2 min ... up to 6 h."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))


async def claim_due(pool: asyncpg.Pool, limit: int, now: datetime,
                    lease: timedelta = LEASE) -> list[Notification]:
    rows = await pool.fetch(
        "UPDATE outbox SET next_attempt_at = $3, claim_token = $4 WHERE notification_id IN ("
        "  SELECT notification_id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2"
        "  ORDER BY next_attempt_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED) "
        f"RETURNING {_COLUMNS}",
        limit, now, now + lease, uuid.uuid4().hex)
    return sorted((Notification(**dict(row)) for row in rows), key=lambda n: n.notification_id)


async def mark_sending(pool: asyncpg.Pool, notification: Notification, now: datetime) -> bool:
    """Record that this claim is handing the notification over; False when the claim no longer
    holds (its lease ran out and another dispatcher took the row, or it went out already)."""
    held = await pool.fetchval(
        "UPDATE outbox SET sending_since = $3 WHERE notification_id = $1 AND claim_token = $2 "
        "AND status = 'pending' RETURNING true",
        notification.notification_id, notification.claim_token, now)
    return bool(held)


async def release(pool: asyncpg.Pool, notifications: list[Notification], now: datetime) -> None:
    """Hand back claimed rows not tried (their next attempt is due at once)."""
    for n in notifications:
        await pool.execute(
            "UPDATE outbox SET next_attempt_at = $3, claim_token = NULL WHERE notification_id = $1 "
            "AND claim_token = $2 AND status = 'pending'", n.notification_id, n.claim_token, now)


async def mark_sent(pool: asyncpg.Pool, notification_id: str, now: datetime) -> None:
    """Sent, whoever holds the claim now: the message went out, and that is the fact to keep."""
    await pool.execute(
        "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, "
        "last_error = NULL, sending_since = NULL, claim_token = NULL "
        "WHERE notification_id = $1 AND status <> 'sent'", notification_id, now)


async def record_sent(pool: asyncpg.Pool, notification_id: str, now: datetime,
                      until: float) -> None:
    """`mark_sent`, retried through a database outage until the monotonic time `until` (the end
    of the claim's lease): the message is out, so forgetting it would send it again."""
    pause = 0.2
    while True:
        try:
            await mark_sent(pool, notification_id, now)
            return
        except DATABASE_TROUBLE as problem:
            if time.monotonic() + pause >= until:
                log.error("a sent notification could not be recorded before its lease ended; "
                          "it may be sent again (with the same Message-ID)",
                          notification_id=notification_id, error=str(problem))
                raise
            log.warning("recording a sent notification: the store is unavailable; retrying",
                        notification_id=notification_id, error=str(problem))
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)


async def mark_failed(pool: asyncpg.Pool, notification_id: str, error: str,
                      now: datetime, *, uncertain: bool = False) -> str:
    """Record a failed try; retry later with exponential backoff, give up after MAX_ATTEMPTS.
    `uncertain` keeps the row marked as possibly delivered, so its retry says it is a resend.
    Returns the notification's status afterwards ('pending' or 'failed')."""
    async with pool.acquire() as conn, conn.transaction():
        attempts = await conn.fetchval(
            "SELECT attempts FROM outbox WHERE notification_id = $1 FOR UPDATE", notification_id)
        if attempts is None:
            raise LookupError(f"no notification {notification_id!r} in the outbox")
        attempts += 1
        status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        await conn.execute(
            "UPDATE outbox SET attempts = $2, status = $3, next_attempt_at = $4, last_error = $5, "
            "claim_token = NULL, sending_since = CASE WHEN $6 THEN sending_since END "
            "WHERE notification_id = $1",
            notification_id, attempts, status, now + backoff(attempts), error[:2000], uncertain)
    return status


async def dispatch_once(pool: asyncpg.Pool, channel: Channel, now: datetime | None = None,
                        limit: int = 100, lease: timedelta = LEASE) -> int:
    """Deliver the notifications due at `now` (default: the wall clock); return how many went."""
    now = now or datetime.now(timezone.utc)
    started = time.monotonic()
    lease_ends = started + lease.total_seconds()
    last_start = lease_ends - min(SEND_BUDGET, lease / 2).total_seconds()
    delivered = 0
    claimed = await claim_due(pool, limit, now, lease)
    for index, notification in enumerate(claimed):
        if time.monotonic() > last_start:
            await release(pool, claimed[index:], now)
            break
        if not await mark_sending(pool, notification, now):
            continue
        try:
            await channel.deliver(notification)
        except Exception as problem:  # any channel failure is retried later, never lost
            await mark_failed(pool, notification.notification_id,
                              f"{type(problem).__name__}: {problem}", now,
                              uncertain=isinstance(problem, UncertainDelivery))
            continue
        await record_sent(pool, notification.notification_id, now, until=lease_ends)
        delivered += 1
    return delivered
