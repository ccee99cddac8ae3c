"""The local stack for real: PostgreSQL, the Temporal dev server, logging, settings."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from workflows.search_attributes import ALL, SEARCH_ATTRIBUTES
from runtime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) in LISTEN state on the given port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":
                found.append(address)
    return found


@pytest.mark.postgres
async def test_postgres_starts_and_answers(postgres):
    conn = await asyncpg.connect(postgres)
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "rollout"
        data_dir = await conn.fetchval("select current_setting('data_directory')")
        backend_pid = await conn.fetchval("select pg_backend_pid()")
        listen = await conn.fetchval("select current_setting('listen_addresses')")
        fsync = await conn.fetchval("select current_setting('fsync')")
        expected_user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        # The backend serving us (alive while the connection is open) runs as postgres, not root.
        assert pwd.getpwuid(_uid(backend_pid)).pw_name == expected_user
    finally:
        await conn.close()

    assert pwd.getpwuid(Path(data_dir).stat().st_uid).pw_name == expected_user
    assert data_dir.startswith("/tmp/rollout-pg-")
    assert fsync == "off"

    assert listen == "127.0.0.1"
    port = int(postgres.rsplit(":", 1)[1].split("/")[0])
    assert _listeners(port) == ["0100007F"]  # 127.0.0.1 only, no IPv6, no wildcard


@pytest.mark.temporal
async def test_temporal_dev_server_has_search_attributes(temporal_dev):
    assert temporal_dev.address.startswith("127.0.0.1:")
    assert temporal_dev.ui_url is None
    port = int(temporal_dev.address.rsplit(":", 1)[1])
    assert set(_listeners(port)) == {"0100007F"}

    client = await Client.connect(temporal_dev.address, namespace="default")
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default"))
    custom = dict(response.custom_attributes)
    assert {key.name for key in ALL} == set(SEARCH_ATTRIBUTES)
    for name in SEARCH_ATTRIBUTES:
        assert custom.get(name) == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, name


def test_logging_emits_json_lines_with_context_when_not_a_tty():
    script = textwrap.dedent("""
        import logging, structlog
        from observability import configure_logging, get_logger
        configure_logging("INFO")
        configure_logging("INFO")  # idempotent: still one handler, one line per event
        structlog.contextvars.bind_contextvars(initiative_id="mtss-2026", site_id="d-042",
                                               workflow_id="site-d-042")
        get_logger("rollout").info("stage advanced", stage="Installation")
        logging.getLogger("temporalio.worker").warning("poller %s", "started")
        get_logger("rollout").debug("not shown at INFO")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert len(lines) == 2, result.stderr
    ours, theirs = lines
    for line in lines:
        assert line["initiative_id"] == "mtss-2026"
        assert line["site_id"] == "d-042"
        assert line["workflow_id"] == "site-d-042"
        assert line["timestamp"].endswith("Z")
    assert ours["event"] == "stage advanced" and ours["stage"] == "Installation"
    assert ours["level"] == "info" and ours["logger"] == "rollout"
    assert theirs["event"] == "poller started" and theirs["logger"] == "temporalio.worker"
    assert theirs["level"] == "warning"


def test_settings_defaults_and_environment():
    assert load_settings({}) == Settings(temporal_address="localhost:7233", temporal_namespace="default",
                                         task_queue="rollouts", database_url=None, log_level="INFO")
    settings = load_settings({"ROLLOUT_TEMPORAL_ADDRESS": "temporal:7233", "ROLLOUT_TASK_QUEUE": "q",
                              "ROLLOUT_DATABASE_URL": "postgresql://app@db/rollout",
                              "ROLLOUT_LOG_LEVEL": "debug", "ROLLOUT_TEMPORAL_NAMESPACE": ""})
    assert settings.temporal_address == "temporal:7233"
    assert settings.task_queue == "q"
    assert settings.database_url == "postgresql://app@db/rollout"
    assert settings.log_level == "DEBUG"
    assert settings.temporal_namespace == "default"
