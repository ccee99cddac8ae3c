"""The worker: every workflow and activity on one task queue.

Run as many worker processes side by side as you like; they share the task queue. SIGINT or
SIGTERM stops polling, lets running activities finish (graceful shutdown), then exits.
"""

from __future__ import annotations

import asyncio
import compileall
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.coaching import CycleStarter
from activities.events import EventRecorder
from activities.pd_scheduling import PdScheduler
from activities.readiness import check_readiness
from activities.reviews import hold_review
from activities.ssip import SsipCycleWork
from runtime.mail import MailChannel, MailServer
from runtime.process_exit import leave
from runtime.settings import Settings, load_settings, redact_dsn
from runtime import periodic
from runtime.watchdog import keep_watching
from runtime.temporal import DEFAULT_TASK_QUEUE, WORKFLOWS, connect_with
from store import projections
from store.db import DATABASE_TROUBLE, connect as connect_db
from store.eventstore import EventStore
from store.migrate import migrate
from store.outbox import LEASE, Channels, InAppFeed, dispatch_once

log = structlog.get_logger("worker")

def precompile_workflows() -> None:
    """Write the workflow modules' bytecode once. The sandbox imports them afresh for every
    workflow run; with PYTHONDONTWRITEBYTECODE set (as in our image and on these machines) no
    .pyc exists and each import compiles the source again: a tenth of a busy worker's CPU when
    many runs start. Quietly skipped where the tree is read-only (the image compiles at build)."""
    compileall.compile_dir(Path(__file__).resolve().parent / "workflows", quiet=2)


def build_worker(client: Client, pool: asyncpg.Pool, task_queue: str = DEFAULT_TASK_QUEUE,
                 **options) -> Worker:
    """Wire workflows and activities to a task queue (used by the process below and by tests)."""
    return Worker(
        client, task_queue=task_queue, workflows=WORKFLOWS,
        activities=[EventRecorder(EventStore(pool)).record_events, PdScheduler(pool).schedule_pd,
                    CycleStarter(client).start_coaching_cycle,
                    check_readiness, hold_review, SsipCycleWork(pool).initiative_school_clock,
                    SsipCycleWork(pool).assign_ssip_tasks,
                    SsipCycleWork(pool).mark_ssip_tasks_overdue],
        graceful_shutdown_timeout=timedelta(seconds=10), **options)


async def dispatch_notifications(pool: asyncpg.Pool, stop: asyncio.Event, every: float = 1.0,
                                 mail: MailServer | None = None, lease: timedelta = LEASE) -> None:
    """Deliver the outbox to the in-app feed and, when a mail server is configured, by mail:
    retried with backoff by the outbox itself, each message sent once (store/outbox.py says how
    far that goes). A stop lets the round in hand finish, so the message being sent is recorded."""
    mailer = MailChannel(pool, mail) if mail else None
    channel = Channels(InAppFeed(pool), *([mailer] if mailer else []))

    async def deliver() -> None:
        try:
            await dispatch_once(pool, channel, limit=200, lease=lease)
        except DATABASE_TROUBLE as problem:
            log.warning("outbox dispatch failed; will retry", error=str(problem))
        finally:
            if mailer is not None:
                await mailer.close()
    await periodic.every(every, stop, deliver)


async def finish_rebuilds(pool: asyncpg.Pool) -> None:
    """Resume any projection rebuild left under way (a stopped rebuild, or a projection that a
    migration added to a store already in use), so read models catch up without anyone asking."""
    try:
        if names := await projections.rebuilding(pool):
            log.info("resuming projection rebuilds", projections=names)
            replayed = await projections.catch_up(pool)
            log.info("projection rebuilds finished", projections=names, events=replayed)
    except DATABASE_TROUBLE as problem:
        log.warning("projection rebuild stopped; `rollout projections rebuild` resumes it",
                    error=str(problem))


@asynccontextmanager
async def running_worker(client: Client, pool: asyncpg.Pool, task_queue: str = DEFAULT_TASK_QUEUE,
                         *, mail: MailServer | None = None, **options):
    precompile_workflows()
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(dispatch_notifications(pool, stop, mail=mail))
    repairer = asyncio.create_task(keep_watching(client, pool, task_queue, stop))
    rebuilds = asyncio.create_task(finish_rebuilds(pool))
    try:
        async with build_worker(client, pool, task_queue, **options) as worker:
            yield worker
    finally:
        stop.set()
        await asyncio.gather(dispatcher, repairer)
        rebuilds.cancel()
        await asyncio.gather(rebuilds, return_exceptions=True)


def tuning(settings: Settings) -> dict:
    """Worker options from the settings: how much work one process takes on at once."""
    return dict(
        workflow_task_executor=ThreadPoolExecutor(settings.workflow_threads,
                                                  thread_name_prefix="workflow"),
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities)


async def serve(settings: Settings) -> None:
    try:
        client = await connect_with(settings)
    except RuntimeError as problem:  # the SDK's "Failed client connect: ..."
        raise SystemExit(f"worker: cannot reach Temporal at {settings.temporal_address}: "
                         f"{str(problem).splitlines()[0]}") from None
    try:
        pool = await connect_db(settings.database_url, max_size=settings.db_pool_size)
    except (OSError, asyncpg.PostgresError) as problem:
        raise SystemExit(f"worker: cannot reach PostgreSQL at {redact_dsn(settings.database_url)}: "
                         f"{problem}") from None
    task_queue, address, namespace = (settings.task_queue, settings.temporal_address,
                                      settings.temporal_namespace)
    await migrate(pool)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    structlog.contextvars.bind_contextvars(task_queue=task_queue)
    mail = MailServer.from_settings(settings)
    async with running_worker(client, pool, task_queue, mail=mail, **tuning(settings)):
        log.info("worker started", address=address, namespace=namespace,
                 mail=f"{mail.host}:{mail.port}" if mail else "off")
        await stop.wait()
        log.info("worker stopping: finishing running activities")
    await pool.close()


def main() -> None:
    from observability.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    if not settings.database_url:
        raise SystemExit("Set ROLLOUT_DATABASE_URL to the application's PostgreSQL database.")
    try:
        asyncio.run(serve(settings))
    except SystemExit as stop:
        leave(stop.code)
    leave(0)


if __name__ == "__main__":
    main()
