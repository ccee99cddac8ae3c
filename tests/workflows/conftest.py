import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.workflows.harness import fresh_database
from worker import running_worker

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest_asyncio.fixture(scope="module")
async def env():
    """A fresh time-skipping server per module: time skipping is global to it."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER))
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(scope="module")
async def database(postgres):
    pool, dsn = await fresh_database(postgres)
    yield pool, dsn
    await pool.close()


@pytest.fixture(scope="module")
def pool(database):
    return database[0]


@pytest_asyncio.fixture(scope="module")
async def worker(env, pool):
    task_queue = f"rollouts-{uuid.uuid4().hex[:8]}"
    async with running_worker(env.client, pool, task_queue=task_queue):
        yield task_queue


def pytest_terminal_summary(terminalreporter) -> None:
    """The cohort-gate tests' dates, whatever the outcome, where the CI log shows them."""
    import json

    from tests.workflows.harness import GATE_FIGURES, ROOT

    if not GATE_FIGURES:
        return
    terminalreporter.section("cohort gates")
    for row in GATE_FIGURES:
        lag = "" if row["lag_real_s"] is None else f" ({row['lag_real_s']:+.2f} s real)"
        terminalreporter.write_line(
            f"{row['test']} {row['cohort']}: {row['gate']}; opened {row['opened']}; started "
            f"{row['started']}{lag}; sites enrolled "
            f"{row['enrolled']}; evidence: {row['evidence']}")
    artifact = ROOT / "test-artifacts" / "cohort_gates.json"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text(json.dumps(GATE_FIGURES, indent=1, default=str))
    terminalreporter.write_line(f"written to {artifact}")
