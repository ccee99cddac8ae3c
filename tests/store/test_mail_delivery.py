"""Notifications by mail through a real SMTP server started by the test (aiosmtpd on a free
loopback port, devstack/mail_sink.py), read back from it: each notification arrives once, with a
PostgreSQL restart between two deliveries, and with PostgreSQL stopped at the worst moment: after
the server took a message and before the outbox could record it.

The worker's own dispatcher (worker.dispatch_notifications) sends, over the worker's own mail
channel (runtime/mail.py), from notifications that domain-decided events put in the outbox.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.mail_sink import MailSink, arrivals, mailbox
from devstack.postgres import LocalPostgres
from domain import events as ev
from runtime.mail import MailServer, message_id
from store import notification_addresses
from store.db import DATABASE_TROUBLE
from store.eventstore import EventStore
from tests.store.scenario import site_history, unique
from tests.workflows.harness import fresh_database
from worker import dispatch_notifications

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]

ADDRESSES = {"district:adams": "team@adams.example", "state-team": "sit@state.example",
             "coach:adams-elem": "coaches@adams.example"}
LEASE = timedelta(seconds=20)
"""Short, so a message the outbox forgot would be claimed and sent again within the test."""


@pytest.fixture
async def server():
    """A PostgreSQL server of the test's own, to stop and start (as tests/faults do)."""
    data_dir = Path(tempfile.mkdtemp(prefix="rollout-mail-pg-", dir="/tmp"))
    pg = LocalPostgres(data_dir=data_dir, fsync=False)
    await asyncio.to_thread(pg.start)
    try:
        yield pg
    finally:
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(data_dir, ignore_errors=True)


class Story:
    """A site's history appended in two parts, its notifications mailed by a running dispatcher."""

    def __init__(self, pool, sink: MailSink) -> None:
        self.pool, self.sink = pool, sink
        self.initiative = unique("mail")
        self.stream = ev.site_stream(self.initiative, "adams-elem")
        self.batches = site_history(self.initiative)
        self.stop = asyncio.Event()
        self.dispatcher: asyncio.Task | None = None

    async def begin(self) -> None:
        for recipient, email in ADDRESSES.items():
            await notification_addresses.set_address(self.pool, recipient, email, by="tests")
        self.dispatcher = asyncio.create_task(dispatch_notifications(
            self.pool, self.stop, every=0.2, mail=MailServer("127.0.0.1", self.sink.port),
            lease=LEASE))

    async def append(self, batches) -> None:
        for expected, batch in batches:
            for attempt in range(20):  # the pool's first connections after a restart may be dead
                try:
                    await EventStore(self.pool).append(self.stream, batch, expected_version=expected)
                    break
                except DATABASE_TROUBLE:
                    await asyncio.sleep(0.5)
            else:
                raise AssertionError("the event store never answered again")

    async def all_sent(self, within: float = 90.0) -> int:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                pending = await self.pool.fetchval(
                    "SELECT count(*) FROM outbox WHERE status <> 'sent' AND stream_id = $1",
                    self.stream)
                if pending == 0:
                    return await self.pool.fetchval(
                        "SELECT count(*) FROM outbox WHERE stream_id = $1", self.stream)
            except DATABASE_TROUBLE:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"notifications still unsent after {within} s: " + str(
            await self.pool.fetch("SELECT notification_id, status, attempts, last_error "
                                  "FROM outbox WHERE status <> 'sent'")))

    async def end(self) -> None:
        self.stop.set()
        if self.dispatcher is not None:
            await self.dispatcher

    async def check_each_arrived_once(self) -> tuple[int, int]:
        """(notifications, arrivals): every notification mailed to its team, exactly once."""
        rows = await self.pool.fetch(
            "SELECT notification_id, recipient FROM outbox WHERE stream_id = $1", self.stream)
        got = arrivals(self.sink.folder)
        by_id = {}
        for arrival in got:
            by_id.setdefault(arrival.notification_id, []).append(arrival)
        repeated = {k: len(v) for k, v in by_id.items() if len(v) > 1}
        assert not repeated, f"sent more than once: {repeated}"
        assert set(by_id) == {r["notification_id"] for r in rows}
        for r in rows:
            (arrival,) = by_id[r["notification_id"]]
            assert arrival.to == ADDRESSES[r["recipient"]]
            assert arrival.message_id == message_id(r["notification_id"], "rollouts@localhost")
        assert len(mailbox(self.sink.folder)) == len(rows)
        assert all("X-Rollout-Resent" not in a.path.read_text() for a in got)
        return len(rows), len(got)


async def test_each_notification_arrives_once_across_a_postgres_restart(server, tmp_path):
    pool, _ = await fresh_database(server.dsn)
    with MailSink(tmp_path / "mail") as sink:
        story = Story(pool, sink)
        try:
            await story.begin()
            half = len(story.batches) // 2
            await story.append(story.batches[:half])
            first = await story.all_sent()
            assert first >= 5 and len(arrivals(sink.folder)) == first

            await asyncio.to_thread(server.stop)
            await asyncio.sleep(2.0)  # the dispatcher keeps trying meanwhile
            await asyncio.to_thread(server.start)

            await story.append(story.batches[half:])
            total = await story.all_sent()
            await story.end()
            notifications, arrived = await story.check_each_arrived_once()
        finally:
            await story.end()
            await pool.close()
    assert notifications == arrived == total > first
    print(f"mail across a restart: {notifications} notifications, {arrived} mails arrived")


async def test_a_restart_between_the_servers_acceptance_and_the_record_sends_nothing_twice(
        server, tmp_path):
    """PostgreSQL is stopped while the mail server holds the 3rd message and before it answers:
    the dispatcher hears 250, cannot record it, waits for the store and records it then."""
    pool, _ = await fresh_database(server.dsn)
    restarted = threading.Event()

    def break_the_store(number: int) -> None:
        if number == 3:
            server.stop()
            threading.Timer(3.0, lambda: (server.start(), restarted.set())).start()

    with MailSink(tmp_path / "mail", on_arrival=break_the_store) as sink:
        story = Story(pool, sink)
        try:
            await story.begin()
            await story.append(story.batches)
            await asyncio.to_thread(restarted.wait, 60)
            assert restarted.is_set(), "PostgreSQL was stopped mid-send and started again"
            total = await story.all_sent()
            await asyncio.sleep(LEASE.total_seconds() + 2)  # a forgotten claim would come back
            await story.end()
            notifications, arrived = await story.check_each_arrived_once()
        finally:
            await story.end()
            await pool.close()
    assert notifications == arrived == total
    print(f"mail with a restart mid-send: {notifications} notifications, {arrived} mails arrived")


DISPATCHER = """
import asyncio, sys
from datetime import timedelta
from store.db import connect
from runtime.mail import MailServer
from worker import dispatch_notifications

async def main(dsn, port, lease):
    pool = await connect(dsn)
    await dispatch_notifications(pool, asyncio.Event(), every=0.2,
                                 mail=MailServer("127.0.0.1", int(port)),
                                 lease=timedelta(seconds=float(lease)))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_dispatcher_killed_inside_the_send_leaves_one_recognisable_repeat(server, tmp_path):
    """The one window SMTP leaves open (store/outbox.py): a dispatcher process is killed after
    the server took a message and before it heard the reply. Another dispatcher takes over when
    the lease ends: the messages the dead one never sent go once; the one it was sending goes
    again, marked as a resend, with the same Message-ID, so the mailbox shows it once."""
    pool, dsn = await fresh_database(server.dsn)
    child: list[subprocess.Popen] = []

    def kill_the_sender(number: int) -> None:
        if number == 3:
            child[0].send_signal(signal.SIGKILL)
            child[0].wait()

    with MailSink(tmp_path / "mail", on_arrival=kill_the_sender) as sink:
        story = Story(pool, sink)
        try:
            for recipient, email in ADDRESSES.items():
                await notification_addresses.set_address(pool, recipient, email, by="tests")
            await story.append(story.batches)
            child.append(subprocess.Popen(
                [sys.executable, "-c", DISPATCHER, dsn, str(sink.port), str(LEASE.total_seconds())],
                env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            await asyncio.to_thread(child[0].wait, 60)
            assert child[0].returncode == -signal.SIGKILL
            await story.begin()  # the surviving dispatcher (the addresses are set again: no change)
            total = await story.all_sent(within=LEASE.total_seconds() + 60)
            await story.end()
            rows = await pool.fetch("SELECT notification_id FROM outbox WHERE stream_id = $1",
                                    story.stream)
        finally:
            await story.end()
            await pool.close()
            if child and child[0].poll() is None:
                child[0].kill()
        got = arrivals(sink.folder)
        box = mailbox(sink.folder)
    copies = {}
    for arrival in got:
        copies.setdefault(arrival.notification_id, []).append(arrival)
    repeated = {k: v for k, v in copies.items() if len(v) > 1}
    assert set(copies) == {r["notification_id"] for r in rows} and len(rows) == total
    assert len(repeated) == 1, f"only the message in flight repeats: {list(repeated)}"
    (first, again), = repeated.values()
    assert first.message_id == again.message_id
    assert "X-Rollout-Resent" not in first.path.read_text()
    assert "X-Rollout-Resent" in again.path.read_text()
    assert len(box) == total and sorted(m.copies for m in box) == [1] * (total - 1) + [2]
    print(f"mail with a dispatcher killed mid-send: {total} notifications, {len(got)} arrivals, "
          f"1 recognisable repeat")
