"""Fuzzed plan files: every one becomes a Plan or one PlanError whose problems name the field path
and the offending value (a syntax error: its line); nothing else escapes the loader, and the CLI
(`rollout plan validate`, and `rollout start` for refused plans) answers each with exit 0 or 2
and a message, never a traceback.

The loading path is the one `rollout plan validate` and `rollout start` share:
rollouts.plans.read_plan_text -> domain.plan_yaml.parse_plan.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner

from cli.main import app
from domain.plan import Plan, whole_plan_issues
from domain.plan_yaml import PlanError, parse_plan
from tests.fuzz.counts import count, planned
from tests.fuzz.plan_strategies import plan_texts

PLAN_CASES = planned("plan files")
CLI_CASES = planned("plan files via the CLI")
WHOLE_DOCUMENT = ("YAML syntax: ", "the plan is ")
"""Problems about the document as a whole: they give a line (where known) instead of a path."""


def loaded_or_refused(text: str) -> str:
    """'accepted' or 'refused'; any other outcome fails the property."""
    try:
        plan = parse_plan(text, source="fuzzed.yaml")
    except PlanError as refused:
        assert refused.errors, "a refusal lists its problems"
        for issue in refused.errors:
            assert issue.message.strip(), issue
            if not issue.message.startswith(WHOLE_DOCUMENT):
                assert issue.path and issue.value, f"problem without a field path or value: {issue}"
        assert str(refused).startswith("fuzzed.yaml: ")
        return "refused"
    assert isinstance(plan, Plan)
    assert not whole_plan_issues(plan), "an accepted plan holds as a whole"
    return "accepted"


def test_every_fuzzed_plan_is_loaded_or_refused_naming_path_and_value():
    outcomes: Counter[str] = Counter()

    @settings(max_examples=PLAN_CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(plan_texts)
    def one_plan(text: str) -> None:
        outcomes[loaded_or_refused(text)] += 1

    one_plan()
    count("plan files", sum(outcomes.values()))
    print(f"plan files: {dict(outcomes)}")
    assert outcomes["refused"] >= PLAN_CASES // 2 and outcomes["accepted"] >= 20, outcomes


def test_the_cli_answers_fuzzed_plans_with_exit_0_or_2_and_no_traceback(tmp_path: Path):
    runner, codes = CliRunner(), Counter()

    @settings(max_examples=CLI_CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(plan_texts)
    def one_run(text: str) -> None:
        plan = tmp_path / "plan.yaml"
        plan.write_text(text, encoding="utf-8", errors="surrogatepass")
        expected = 0 if loaded_or_refused(text) == "accepted" else 2
        result = runner.invoke(app, ["plan", "validate", str(plan)])
        output = result.output + (result.stderr if result.stderr_bytes else "")
        assert result.exit_code == expected, output
        assert "Traceback" not in output and output.strip(), output
        if expected == 2:
            assert "problem" in output.splitlines()[0], output
            # `rollout start` reads the plan the same way and stops before reaching any server
            started = runner.invoke(app, ["start", str(plan), "--as", "fuzz.tester"])
            said = started.output + (started.stderr if started.stderr_bytes else "")
            assert started.exit_code == 2 and "Traceback" not in said and said.strip(), said
        codes[result.exit_code] += 1

    one_run()
    count("plan files via the CLI", sum(codes.values()))
    assert codes[2] >= CLI_CASES // 3, codes
