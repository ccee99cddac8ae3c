"""Histories recorded from earlier runs replay cleanly against today's workflow code."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from runtime.temporal import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def test_histories_are_committed_for_every_workflow():
    recorded = {json.loads(f.read_text())["workflow_type"] for f in FILES}
    assert recorded >= {w.__name__ for w in WORKFLOWS}


@pytest.mark.asyncio
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
async def test_recorded_history_replays(path: Path):
    record = json.loads(path.read_text())
    history = WorkflowHistory.from_json(record["workflow_id"], record["history"])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
