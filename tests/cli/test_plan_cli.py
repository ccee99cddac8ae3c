"""`rollout plan validate`, in process (CliRunner) and as the installed `rollout` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.plan.examples import SMALL, STATE_SCALE, line_of, replace_once, small_text

runner = CliRunner()


@pytest.fixture
def bad_plan(tmp_path: Path) -> Path:
    text = replace_once(small_text(), "prairie-ridge-central-es]", "prairie-ridge-central-es, d-999]")
    text = replace_once(text, "      region: South\n", "      region: Sauth\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def test_a_valid_plan_prints_its_summary_and_exits_0():
    result = runner.invoke(app, ["plan", "validate", str(SMALL)])
    assert result.exit_code == 0, result.output
    assert f"{SMALL}: valid plan" in result.output
    for expected in ("K-3 Structured Literacy", "SSIP Phase III", "3 districts, 2 schools",
                     "Sites by region", "North", "cohort-1", "starts at launch",
                     "Initial Implementation", "4 school years, 2026-08-17 to 2030-05-31"):
        assert expected in result.output


def test_the_state_scale_plan_validates():
    result = runner.invoke(app, ["plan", "validate", "--json", str(STATE_SCALE)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["summary"]
    assert summary["districts"] >= 300 and len(summary["regions"]) >= 5
    assert [c["id"] for c in summary["cohorts"]] == ["cohort-1", "cohort-2", "cohort-3"]


def test_an_invalid_plan_lists_each_problem_with_line_path_value_and_exits_2(bad_plan):
    result = runner.invoke(app, ["plan", "validate", str(bad_plan)])
    assert result.exit_code == 2
    text = bad_plan.read_text()
    lines = result.output.splitlines()
    assert lines[0] == f"{bad_plan}: 2 problems in the plan:"
    assert lines[1] == (f"  line {line_of(text, 'd-999')}  cohorts[0].members[5] = 'd-999'  "
                        "cohort 'cohort-1' lists unknown site 'd-999'")
    assert lines[2].startswith(f"  line {line_of(text, 'region: Sauth')}  "
                               "pd.trainers[1].region = 'Sauth'  trainer 'south-literacy-1'")
    assert "Traceback" not in result.output


def test_json_output_for_an_invalid_plan(bad_plan):
    result = runner.invoke(app, ["plan", "validate", "--json", str(bad_plan)])
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == ["cohorts[0].members[5]", "pd.trainers[1].region"]


@pytest.mark.parametrize(("target", "reason"), [("missing.yaml", "no such file"),
                                                (".", "it is a directory")])
def test_an_unreadable_file_is_one_sentence_and_exit_2(tmp_path, target, reason):
    path = tmp_path / target
    result = runner.invoke(app, ["plan", "validate", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Cannot read plan file '{path}': {reason}."
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _rollout(*args: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("rollout")
    assert command.exists(), "install the project first: pip install -e . (provides `rollout`)"
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=60)


def test_installed_rollout_command(tmp_path, bad_plan):
    good = _rollout("plan", "validate", str(SMALL))
    assert good.returncode == 0, good.stderr
    assert "valid plan" in good.stdout and "Cohorts" in good.stdout

    bad = _rollout("plan", "validate", str(bad_plan))
    assert bad.returncode == 2
    assert "cohorts[0].members[5] = 'd-999'  cohort 'cohort-1' lists unknown site 'd-999'" in bad.stdout
    assert "pd.trainers[1].region = 'Sauth'" in bad.stdout

    missing = _rollout("plan", "validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [f"Cannot read plan file '{tmp_path / 'nope.yaml'}': no such file."]
