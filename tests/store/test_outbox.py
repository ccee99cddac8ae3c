"""Outbox delivery: due rows only, backoff on failure, give up after N, never a double delivery."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from domain import events as ev
from store import outbox
from store.eventstore import EventStore
from store.outbox import (
    InAppFeed, claim_due, dispatch_once, mark_failed, mark_sending, mark_sent,
)
from tests.store.scenario import site_history, unique

pytestmark = pytest.mark.postgres


class Broken:
    """A channel that is down."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    async def deliver(self, notification) -> None:
        self.tried.append(notification.notification_id)
        raise ConnectionError("mail relay refused the connection")


@pytest.fixture
async def pending(pool):
    """A fresh site's first notifications, nothing else pending in the module's database."""
    await pool.execute("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")
    initiative = unique("pbis")
    stream_id = ev.site_stream(initiative, "adams-elem")
    for expected, batch in site_history(initiative)[:4]:
        await EventStore(pool).append(stream_id, batch, expected_version=expected)
    rows = await pool.fetch("SELECT notification_id FROM outbox WHERE status = 'pending' "
                            "ORDER BY notification_id")
    assert len(rows) == 3, "stage entered, task assigned, reminder"
    return [r["notification_id"] for r in rows]


def later(seconds: float = 1) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


async def test_dispatch_delivers_each_due_notification_once(pool, pending):
    feed = InAppFeed(pool)
    assert await dispatch_once(pool, feed, now=later(), limit=10) == 3
    assert await dispatch_once(pool, feed, now=later(), limit=10) == 0
    rows = await pool.fetch("SELECT * FROM notification_feed WHERE notification_id = ANY($1)",
                            pending)
    assert sorted(r["notification_id"] for r in rows) == pending
    sent = await pool.fetch("SELECT status, attempts, sent_at FROM outbox "
                            "WHERE notification_id = ANY($1)", pending)
    assert {(r["status"], r["attempts"]) for r in sent} == {("sent", 1)}


async def test_a_repeated_delivery_shows_once_in_the_feed(pool, pending):
    (first, *_) = await claim_due(pool, 1, later())
    feed = InAppFeed(pool)
    await feed.deliver(first)
    await feed.deliver(first)
    assert await pool.fetchval("SELECT count(*) FROM notification_feed WHERE notification_id = $1",
                               first.notification_id) == 1


async def test_a_claimed_notification_is_not_claimed_again_until_its_lease_ends(pool, pending):
    now = later()
    claims = await asyncio.gather(*(claim_due(pool, 2, now) for _ in range(4)))
    claimed = [n.notification_id for batch in claims for n in batch]
    assert sorted(claimed) == pending, "concurrent dispatchers split the work, none twice"
    assert await claim_due(pool, 10, now) == []
    again = await claim_due(pool, 10, now + outbox.LEASE + timedelta(seconds=1))
    assert sorted(n.notification_id for n in again) == pending, "a crashed claim expires"


async def test_failures_back_off_exponentially_then_give_up(pool, pending):
    channel, now = Broken(), later()
    target = pending[0]
    delays = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert await dispatch_once(pool, channel, now=now, limit=10) == 0
        row = await pool.fetchrow("SELECT * FROM outbox WHERE notification_id = $1", target)
        assert row["attempts"] == attempt
        assert row["last_error"] == "ConnectionError: mail relay refused the connection"
        if attempt < outbox.MAX_ATTEMPTS:
            assert row["status"] == "pending"
            delays.append(row["next_attempt_at"] - now)
            assert await claim_due(pool, 10, row["next_attempt_at"] - timedelta(seconds=1)) == []
            now = row["next_attempt_at"]
    assert row["status"] == "failed"
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(b >= a for a, b in zip(delays, delays[1:])) and max(delays) <= outbox.MAX_DELAY
    assert channel.tried.count(target) == outbox.MAX_ATTEMPTS
    assert await dispatch_once(pool, InAppFeed(pool), now=now + timedelta(days=1)) == 0


async def test_mark_sent_and_mark_failed_by_hand(pool, pending):
    now = later()
    await mark_sent(pool, pending[0], now)
    assert await mark_failed(pool, pending[1], "timeout", now) == "pending"
    rows = {r["notification_id"]: r for r in await pool.fetch(
        "SELECT * FROM outbox WHERE notification_id = ANY($1)", pending)}
    assert (rows[pending[0]]["status"], rows[pending[0]]["sent_at"]) == ("sent", now)
    assert rows[pending[1]]["next_attempt_at"] == now + outbox.backoff(1)
    with pytest.raises(LookupError, match="no notification 'missing'"):
        await mark_failed(pool, "missing", "x", now)


async def test_a_claim_that_lost_its_lease_cannot_start_a_send(pool, pending):
    now = later()
    (first, *_) = await claim_due(pool, 10, now)
    taken = next(n for n in await claim_due(pool, 10, now + outbox.LEASE + timedelta(seconds=1))
                 if n.notification_id == first.notification_id)
    assert taken.claim_token != first.claim_token
    assert not taken.uncertain, "nobody had begun sending it"
    assert await mark_sending(pool, first, now) is False, "the first claim is over"
    assert await mark_sending(pool, taken, now) is True
    again = next(n for n in await claim_due(pool, 10, now + 2 * (outbox.LEASE + timedelta(seconds=1)))
                 if n.notification_id == first.notification_id)
    assert again.uncertain, \
        "a claim that finds a send begun and never recorded knows the send is uncertain"
    await mark_sent(pool, again.notification_id, now)
    assert await mark_sending(pool, again, now) is False, "a sent notification is not sent again"


async def test_a_failure_after_the_data_went_out_stays_uncertain(pool, pending):
    now = later()
    claimed = await claim_due(pool, 2, now)
    for n in claimed:
        assert await mark_sending(pool, n, now)
    await mark_failed(pool, claimed[0].notification_id, "lost the reply", now, uncertain=True)
    await mark_failed(pool, claimed[1].notification_id, "550 no such mailbox", now)
    retried = {n.notification_id: n.uncertain
               for n in await claim_due(pool, 10, now + timedelta(hours=1))}
    assert retried[claimed[0].notification_id] is True
    assert retried[claimed[1].notification_id] is False


async def test_rows_left_when_the_lease_runs_short_are_handed_back(pool, pending):
    class Slow:
        async def deliver(self, notification) -> None:
            await asyncio.sleep(0.6)

    now = later()
    lease = timedelta(seconds=1.5)  # sends may start during the first 0.75 s only
    assert await dispatch_once(pool, Slow(), now=now, lease=lease) == 2
    (left,) = await claim_due(pool, 10, now)
    assert left.notification_id == pending[2] and not left.uncertain, \
        "handed back at once, never begun"
