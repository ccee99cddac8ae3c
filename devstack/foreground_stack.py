"""Everything `rollout up` runs, started in dependency order and stopped in reverse.

PostgreSQL (the local one under the data directory, migrated by its owner and used by the others
through the application's role; or a given URL, migrated through the migration URL when one is
given: the schema owner's), the Temporal dev server with
its Web UI and a persistent SQLite file, N worker processes on one task queue, and the HTTP API.
Each `start_*` returns only once its part answers (workers: once Temporal lists each worker's
process as a poller of the task queue; API: once it answers HTTP), so what `up` prints is true.
Once up, `tend()` keeps it so (devstack/supervision.py): a worker or the API that dies is started
again, PostgreSQL or Temporal dying stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import asyncpg
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError

from devstack.children import last_line, spawn, stop_all
from devstack.local_stack import ROOT, local_database, local_temporal, migrate_as_owner
from devstack.mail_sink import MailSink
from devstack.postgres import PostgresError
from devstack.supervision import Happening, StateLost, Supervisor, process_state
from devstack.temporal import LocalTemporal, TemporalError
from runtime.settings import role_of
from runtime.temporal import connect
from store.db import connect as connect_db
from store.migrate import migrate
from store.privileges import RoleError

API_FILE = ROOT / "api" / "app.py"
API_FACTORY = "api.app:create_app"
WORKER_GRACE = 20.0
"""Seconds a worker gets to finish running activities (its own graceful timeout is 10 s)."""


class StackError(RuntimeError):
    """One sentence saying which part did not start, and where to look."""


@dataclass(frozen=True)
class StackOptions:
    data_dir: Path
    workers: int
    temporal_port: int
    ui_port: int
    api_port: int
    task_queue: str
    namespace: str = "default"
    database_url: str | None = None
    migration_database_url: str | None = None
    """The schema owner's DSN for a given `database_url` (which should be the application's)."""
    database_role: str | None = None
    """The application's role, granted its privileges by the migration (default: the user of
    `database_url`)."""
    log_level: str = "INFO"
    ready_timeout: float = 90.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path | None = None
    argv: list[str] = field(default_factory=list)
    """How it was started, so that the supervisor can start it again."""
    env: dict[str, str] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], log: Path) -> "Child":
        return cls(name, spawn(argv, env=env, log=log, cwd=ROOT), log, argv, env)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def respawn(self) -> None:
        """Start it again as it was started (its log goes on in the same file)."""
        self.process = spawn(self.argv, env=self.env, log=self.log, cwd=ROOT)
        self.started_at = time.monotonic()

    def exited(self) -> str:
        """Why it stopped, in one line: the signal that killed it, or its last words."""
        code, where = self.process.returncode, f" (see {self.log})" if self.log else ""
        if code is not None and code < 0:
            return f"{self.name} was killed by {signal.Signals(-code).name}{where}."
        why = last_line(self.log) if self.log else ""
        return f"{self.name} exited with code {code}{': ' + why if why else ''}{where}."


@dataclass
class ForegroundStack:
    options: StackOptions
    database_url: str | None = None
    temporal: LocalTemporal | None = None
    workers: list[Child] = field(default_factory=list)
    api: Child | None = None
    mail: MailSink | None = None
    _exit: ExitStack = field(default_factory=ExitStack)
    _supervisor: Supervisor | None = None

    # --- starting ---------------------------------------------------------------------------

    def check_ports(self) -> None:
        o = self.options
        for port, what, flag in ((o.temporal_port, "Temporal", "--temporal-port"),
                                 (o.ui_port, "the Temporal Web UI", "--ui-port"),
                                 (o.api_port, "the API", "--api-port")):
            if not port_is_free(port):
                raise StackError(f"Port {port} for {what} is already in use (is another `rollout up` "
                                 f"running?); choose another with {flag}.")

    def start_database(self) -> str:
        """The application's DSN, once the schema is migrated (by its owner)."""
        o = self.options
        if o.database_url:
            self.database_url = o.database_url
            asyncio.run(self._migrate())
            return self.database_url
        data = o.data_dir / "postgres"
        try:
            self.database_url = self._exit.enter_context(local_database(o.data_dir))
        except PostgresError as problem:
            raise StackError(f"PostgreSQL did not start under {data}: {_first_line(problem)} "
                             f"(see {data / 'server.log'}).") from None
        except (OSError, asyncpg.PostgresError, RuntimeError) as problem:
            raise StackError(f"Cannot migrate the event store under {data}: "
                             f"{_first_line(problem)}") from None
        return self.database_url

    async def _migrate(self) -> None:
        """A given database: as its owner when the migration URL is given (granting the
        application's role its privileges), else through the application's URL itself (which
        finds nothing to do when the owner has migrated already)."""
        o = self.options
        try:
            if o.migration_database_url:
                await migrate_as_owner(o.migration_database_url,
                                       o.database_role or role_of(o.database_url))
                return
            pool = await connect_db(o.database_url, min_size=1, max_size=1)
            try:
                await migrate(pool)
            finally:
                await pool.close()
        except (OSError, asyncpg.InterfaceError) as problem:
            raise StackError(f"Cannot connect to the event store: {_first_line(problem)}") from None
        except (asyncpg.PostgresError, RuntimeError, RoleError, ValueError) as problem:
            raise StackError(f"Cannot migrate the event store: {_first_line(problem)}") from None

    def start_temporal(self) -> LocalTemporal:
        o = self.options
        # Its own directory: `rollout demo` starts fresh by deleting var/temporal.db*, and must
        # never take the histories of initiatives this stack runs.
        try:
            self.temporal = self._exit.enter_context(local_temporal(
                o.data_dir / "temporal", fresh=False, headless=False, port=o.temporal_port,
                ui_port=o.ui_port))
        except TemporalError as problem:
            raise StackError(f"The Temporal dev server did not start: {_first_line(problem)}") from None
        return self.temporal

    def start_workers(self) -> list[int]:
        o = self.options
        argv = [sys.executable, "-m", "worker"]
        for n in range(1, o.workers + 1):
            log = o.data_dir / "logs" / f"worker-{n}.log"
            self.workers.append(Child.start(f"worker {n}", argv, self.child_env(), log))
            if n == 1:
                self._exit.callback(lambda: stop_all([w.process for w in self.workers], grace=WORKER_GRACE))
        asyncio.run(self._wait_for_pollers())
        return [w.process.pid for w in self.workers]

    async def _wait_for_pollers(self) -> None:
        client = await connect(self.temporal.address, self.options.namespace)
        request = DescribeTaskQueueRequest(
            namespace=self.options.namespace, task_queue=TaskQueue(name=self.options.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        waiting = {w.process.pid: w for w in self.workers}
        deadline = time.monotonic() + self.options.ready_timeout
        while waiting:
            self._raise_if_stopped(self.workers)
            if time.monotonic() > deadline:
                late = ", ".join(w.name for w in waiting.values())
                raise StackError(f"{late} did not start polling task queue "
                                 f"'{self.options.task_queue}' within {self.options.ready_timeout:g} s "
                                 f"(see {next(iter(waiting.values())).log}).")
            try:
                response = await client.workflow_service.describe_task_queue(request)
            except RPCError as problem:
                raise StackError(f"Temporal stopped answering: {problem.message}") from None
            for poller in response.pollers:
                waiting.pop(_pid_of(poller.identity), None)
            if waiting:
                await asyncio.sleep(0.3)

    def start_api(self) -> str | None:
        """The API's URL, or None when this checkout has no API (api/app.py)."""
        if not api_available():
            return None
        o = self.options
        argv = [sys.executable, "-m", "uvicorn", "--factory", API_FACTORY,
                "--host", "127.0.0.1", "--port", str(o.api_port), "--log-level", "warning"]
        self.api = Child.start("the API", argv, self.child_env(), o.data_dir / "logs" / "api.log")
        self._exit.callback(lambda: stop_all([self.api.process], grace=10))
        url = f"http://127.0.0.1:{o.api_port}"
        deadline = time.monotonic() + self.options.ready_timeout
        while not answers_http(f"{url}/health"):
            self._raise_if_stopped([self.api])
            if time.monotonic() > deadline:
                raise StackError(f"The API did not answer at {url} within "
                                 f"{self.options.ready_timeout:g} s (see {self.api.log}).")
            time.sleep(0.3)
        return url

    def start_mail_sink(self) -> MailSink | None:
        """A local mail sink under <data dir>/mail for the workers' notification mail (`rollout
        mail` reads it), unless ROLLOUT_SMTP_HOST names a real mail server."""
        if os.environ.get("ROLLOUT_SMTP_HOST", "").strip():
            return None
        self.mail = self._exit.enter_context(MailSink(self.options.data_dir / "mail"))
        return self.mail

    def child_env(self) -> dict[str, str]:
        o = self.options
        return {**os.environ, "ROLLOUT_TEMPORAL_ADDRESS": self.temporal.address,
                "ROLLOUT_TEMPORAL_NAMESPACE": o.namespace, "ROLLOUT_TASK_QUEUE": o.task_queue,
                "ROLLOUT_DATABASE_URL": self.database_url, "ROLLOUT_LOG_LEVEL": o.log_level,
                "PYTHONUNBUFFERED": "1", **(self.mail.env() if self.mail else {})}

    # --- running and stopping ---------------------------------------------------------------

    def tend(self) -> list[Happening]:
        """One look at every part, once all are up: a worker or the API that died is started
        again after its backoff (what happened is returned, one line each); StackError when
        PostgreSQL or Temporal stopped."""
        if self._supervisor is None:
            postgres_stopped = self._postgres_stopped()
            self._supervisor = Supervisor(
                lambda: [*self.workers, *([self.api] if self.api else [])],
                lambda: [("Temporal", self._temporal_stopped), ("PostgreSQL", postgres_stopped)],
                self.options.data_dir / "logs")
        try:
            return self._supervisor.tend()
        except StateLost as lost:
            raise StackError(str(lost)) from None

    def worker_pids(self) -> list[int]:
        """The workers running now (one waiting for its restart has none)."""
        return [w.pid for w in self.workers if w.exit_code() is None]

    def api_pid(self) -> int | None:
        return self.api.pid if self.api is not None and self.api.exit_code() is None else None

    def _temporal_stopped(self) -> str | None:
        process = self.temporal.process if self.temporal is not None else None
        if process is None or process.poll() is None:
            return None
        return Child("the Temporal dev server", process).exited()[:-1]

    def _postgres_stopped(self) -> Callable[[], str | None]:
        """The check of the local PostgreSQL this stack started (a given URL is not ours to
        watch): its postmaster, by the pid it recorded once up."""
        data = self.options.data_dir / "postgres"
        try:
            pid = None if self.options.database_url else int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None

        def stopped() -> str | None:
            if pid is None or process_state(pid) not in (None, "Z"):
                return None
            return f"PostgreSQL (pid {pid}) stopped (see {data / 'server.log'})"
        return stopped

    def _raise_if_stopped(self, children: list[Child]) -> None:
        for child in children:
            if child.process.poll() is not None:
                raise StackError(child.exited())

    def stop(self) -> None:
        """API first, then the workers (in parallel), then Temporal, then PostgreSQL."""
        try:
            self._exit.close()
        finally:
            if self._supervisor is not None:
                self._supervisor.close()


def api_available() -> bool:
    """The API is built alongside; a checkout without api/app.py runs without it."""
    return API_FILE.is_file()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers do: a port whose last connections linger in TIME_WAIT is free to listen on.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def answers_http(url: str) -> bool:
    """True once anything at `url` answers HTTP without a server error."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _pid_of(identity: str) -> int | None:
    """The SDK's default worker identity is 'PID@HOST'."""
    head = identity.split("@", 1)[0]
    return int(head) if head.isdigit() else None


def _first_line(problem: BaseException) -> str:
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__
