"""Secrets never reach a log (issue 7, area 6).

The real processes, configured the way an operator would (ROLLOUT_* variables, a database URL
with a password, a Temporal Cloud API key, DEBUG logging), with everything they write to stdout
and stderr kept in files: `rollout token create`, the API under uvicorn (tokens made, used, revoked
and refused, a web login), the API again with its database unreachable, `rollout token create`
against that unreachable database, and the worker starting up and stopping. Then the files are searched for
every token and secret issued, their stored hashes, the database password and the API key.
(The one place a token is meant to appear, `rollout token create`'s stdout, is the product the
person asked for, not a log, and is left out of the search.)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from devstack.ports import free_port
from store.roles import set_password
from tests.workflows.harness import fresh_database

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Pw-7f3e-never-log-me"
API_KEY = "tcld-key-4c1d-never-log-me"
START_SECONDS = 60.0


async def with_password(server_dsn: str, dsn: str, password: str) -> str:
    """The DSN with `password`, made the role's own (the server asks every connection for it)."""
    parts = urlsplit(dsn)
    admin = await asyncpg.connect(server_dsn)
    try:
        await set_password(admin, parts.username, password)
    finally:
        await admin.close()
    return parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}").geturl()


class Logs:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def file(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("*.log")))


async def run(logs: Logs, name: str, *argv: str, env: dict, seconds: float = 60.0) -> tuple[int, str]:
    """Run a command to its end; stderr to the log, stdout returned (and logged unless it is the
    token the command exists to print)."""
    with logs.file(name).open("w") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log)
        out, _ = await asyncio.wait_for(process.communicate(), seconds)
    return process.returncode, out.decode()


class Served:
    """The API under uvicorn in its own process, its output into a log file."""

    def __init__(self, logs: Logs, name: str, env: dict) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs, self.name, self.env = logs, name, env

    async def __aenter__(self) -> "Served":
        self._log = self.logs.file(self.name).open("w")
        self.process = await asyncio.create_subprocess_exec(
            str(BIN / "uvicorn"), "--factory", "api.app:create_app", "--host", "127.0.0.1",
            "--port", str(self.port), "--log-level", "debug", cwd=ROOT, env=self.env,
            stdout=self._log, stderr=self._log)
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{self.url}/health")).status_code in (200, 503):
                        return self
                except httpx.TransportError:
                    pass
                assert self.process.returncode is None, self.logs.file(self.name).read_text()
                assert asyncio.get_running_loop().time() < deadline, "the API did not start"
                await asyncio.sleep(0.2)

    async def __aexit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._log.close()


async def worker_start_up(logs: Logs, env: dict) -> None:
    """Start the worker (the dev server speaks no TLS, so without the API key), see it report
    that it started, stop it."""
    path = logs.file("worker")
    with path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "worker.py", cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        while "worker started" not in path.read_text():
            assert process.returncode is None, path.read_text()
            assert asyncio.get_running_loop().time() < deadline, "the worker did not start"
            await asyncio.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_secret_appears_in_any_log(postgres, temporal_dev, tmp_path):
    pool, dsn = await fresh_database(postgres)
    await pool.close()
    logs = Logs(tmp_path)
    env = {**os.environ, "ROLLOUT_DATABASE_URL": await with_password(postgres, dsn, PASSWORD),
           "ROLLOUT_TEMPORAL_ADDRESS": temporal_dev.address, "ROLLOUT_TEMPORAL_API_KEY": API_KEY,
           "ROLLOUT_LOG_LEVEL": "DEBUG", "NO_COLOR": "1"}
    issued: list[str] = []

    code, out = await run(logs, "token-create", str(BIN / "rollout"), "token", "create",
                          "--role", "state_admin", "--json", env=env)
    assert code == 0, logs.file("token-create").read_text()
    admin = json.loads(out)["token"]
    issued.append(admin)

    async with Served(logs, "api", env) as api, httpx.AsyncClient(base_url=api.url,
                                                                   timeout=60) as http:
        assert (await http.get("/me", headers=bearer(admin))).status_code == 200
        made = await http.post("/tokens", headers=bearer(admin),
                               json={"role": "district_coordinator", "district": "cedar-falls-sd"})
        assert made.status_code == 201, made.text
        coordinator, token_id = made.json()["token"], made.json()["info"]["token_id"]
        issued.append(coordinator)
        assert (await http.get("/me", headers=bearer(coordinator))).status_code == 200
        login = await http.post("/web/login", data={"token": coordinator})
        assert login.status_code == 303, login.text
        cookie = {"Cookie": f"rollout_session={coordinator}"}
        assert (await http.get("/web/inbox", headers=cookie)).status_code == 200
        assert (await http.post(f"/tokens/{token_id}/revoke", headers=bearer(admin))).status_code == 200
        assert (await http.get("/me", headers=bearer(coordinator))).status_code == 401
        assert (await http.get("/web/inbox", headers=cookie)).status_code == 303
        refused = await http.post("/web/login", data={"token": coordinator})
        assert refused.status_code == 401
        forged = coordinator[:-6] + "XXXXXX"
        issued.append(forged)
        assert (await http.get("/tasks", headers=bearer(forged))).status_code == 401
        assert (await http.get("/tasks", headers=bearer(f"{admin}-and-more"))).status_code == 401
        # Temporal is configured with the API key (TLS), which the dev server does not speak.
        assert (await http.get("/initiatives/nowhere/status", headers=bearer(admin))).status_code in (
            404, 503)

    down = {**env, "ROLLOUT_DATABASE_URL":
            f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/gone"}
    async with Served(logs, "api-without-database", down) as api, httpx.AsyncClient(
            base_url=api.url, timeout=60) as http:
        answer = await http.get("/me", headers=bearer(admin))
        assert answer.status_code == 503, answer.text
        assert (await http.post("/web/login", data={"token": admin})).status_code == 503
    code, out = await run(logs, "token-create-without-database", str(BIN / "rollout"), "token",
                          "create", "--role", "auditor", env=down)
    assert code == 2 and out == ""
    assert "Cannot read the event store" in logs.file("token-create-without-database").read_text()

    await worker_start_up(logs, {**{k: v for k, v in env.items() if k != "ROLLOUT_TEMPORAL_API_KEY"},
                                 "ROLLOUT_TASK_QUEUE": f"secrets-{uuid.uuid4().hex[:8]}"})

    text = logs.text()
    assert '"api change request"' in text and '"path": "/tokens"' in text
    assert "starting without a connection" in logs.file("api-without-database").read_text()
    secrets = {PASSWORD: "the database password", API_KEY: "the Temporal API key"}
    for token in issued:
        secret = token.split("_", 2)[2]  # secrets may hold "_"
        secrets |= {token: "a token", secret: "a token's secret",
                    hashlib.sha256(secret.encode()).hexdigest(): "a token's stored hash"}
    leaked = [f"{what} ({value[:12]}...)" for value, what in secrets.items() if value in text]
    print(f"logs searched: {len(text.splitlines())} lines in "
          f"{len(list(tmp_path.glob('*.log')))} files for {len(secrets)} secrets")
    assert not leaked, "secrets in the logs: " + ", ".join(leaked)
