"""Plans checked as a whole (issue 18, finding 9): one test per cross-field rule, each with the
plan that breaks it (the small example, edited), the problem at the field the plan sets and the
message naming the other field it disagrees with. The rules run where a plan enters (parse_plan,
which `rollout plan validate` and `rollout start` share; `require_whole` for code), not in the
model's own validation, so a running initiative's plan still loads in its workflow."""

from __future__ import annotations

import pytest

from domain.actors import Actor, Role
from domain.issues import Invalid
from domain.plan import Plan, require_whole
from domain.plan_rules import MAX_SUMMER_DAYS
from domain.plan_yaml import PlanError, parse_plan
from rollouts.operations import OperationError, launch_initiative
from tests.plan.examples import line_of, replace_once, small_text
from tests.workflows.harness import STATE_ADMIN

MARK = "exit_criteria.full_implementation.fidelity_min_percent"
COLLAPSE = "exit_criteria.regression.fidelity_collapse_percent"


def with_criteria(text: str, criteria: str) -> str:
    """The example with more exit criteria (YAML lines under `exit_criteria:`)."""
    return replace_once(text, "exit_criteria:\n", "exit_criteria:\n" + criteria)


def with_second_cohort(text: str, gate: str) -> str:
    """The example's last school moved into a second cohort with the given gate."""
    text = replace_once(text, "cedar-falls-lincoln-es,\n              prairie-ridge-central-es]",
                        "cedar-falls-lincoln-es]")
    return replace_once(text, "      kind: immediate\n", "      kind: immediate\n"
                        "  - id: cohort-2\n    name: Cohort 2\n    members: [prairie-ridge-central-es]\n"
                        f"    gate:\n{gate}")


def without_year(text: str, name: str) -> str:
    start = text.index(f"    - name: {name}\n")
    end = text.index("    - name:", start + 1)
    return text[:start] + text[end:]


def later_second_year(text: str, start: str) -> str:
    """The example's second school year starting on `start` (its first blackout date after it)."""
    text = replace_once(text, "start: 2027-08-16", f"start: {start}")
    return replace_once(text, "[2027-09-06, 2028-01-17", "[2027-10-11, 2028-01-17")


# (case id, the edit that breaks the rule, the path reported, fragments its message must hold,
#  the text on the line reported)
CASES = [
    ("fidelity-mark-written-as-a-fraction",
     lambda t: replace_once(t, "fidelity_min_percent: 50", "fidelity_min_percent: 0.6"),
     MARK, ["0.6 is read as 0.6%", "percentages are written from 0 to 100", "write 60"],
     "fidelity_min_percent: 0.6"),
    ("checklist-threshold-written-as-a-fraction",
     lambda t: with_criteria(t, "  installation:\n    checklist_min_percent: 0.8\n"),
     "exit_criteria.installation.checklist_min_percent", ["0.8 is read as 0.8%", "write 80"],
     "checklist_min_percent: 0.8"),
    ("collapse-line-written-as-a-fraction",
     lambda t: with_criteria(t, "  regression:\n    fidelity_collapse_percent: 0.2\n"),
     COLLAPSE, ["0.2 is read as 0.2%", "write 20"], "fidelity_collapse_percent: 0.2"),
    ("share-gate-written-as-a-fraction",
     lambda t: with_second_cohort(t, "      kind: share\n      stage: Installation\n"
                                     "      percent: 0.5\n"),
     "cohorts[1].gate.percent", ["0.5 is read as 0.5%", "write 50"], "percent: 0.5"),
    ("collapse-line-above-the-fidelity-mark",
     lambda t: with_criteria(t, "  regression:\n    fidelity_collapse_percent: 60\n"),
     COLLAPSE, [f"{COLLAPSE} = 60", f"{MARK} = 50", "would still be sent back"],
     "fidelity_collapse_percent: 60"),
    ("collapse-line-at-the-fidelity-mark",
     lambda t: with_criteria(t, "  regression:\n    fidelity_collapse_percent: 50\n"),
     COLLAPSE, [f"{COLLAPSE} = 50", f"{MARK} = 50"], "fidelity_collapse_percent: 50"),
    ("fidelity-mark-under-the-default-collapse-line",
     lambda t: replace_once(t, "fidelity_min_percent: 50", "fidelity_min_percent: 15"),
     MARK, [f"{COLLAPSE} = 20", f"{MARK} = 15"], "fidelity_min_percent: 15"),
    ("a-school-year-missing-between-two",
     lambda t: without_year(t, "2027-28"),
     "calendar.years[1].start", ["school year '2028-29' starts on 2028-08-14, 436 days after",
                                 "calendar.years[0].end = 2027-06-04",
                                 f"a summer is at most {MAX_SUMMER_DAYS} days"],
     "start: 2028-08-14"),
    ("a-summer-longer-than-a-summer",
     lambda t: later_second_year(t, "2027-10-04"),
     "calendar.years[1].start", ["starts on 2027-10-04, 121 days after",
                                 "calendar.years[0].end = 2027-06-04"], "start: 2027-10-04"),
    ("school-years-overlapping",
     lambda t: replace_once(t, "start: 2027-08-16", "start: 2027-06-03"),
     "calendar.years[1].start", ["starts on 2027-06-03, before school year '2026-27' ends on "
                                 "2027-06-04", "in order, not overlapping"], "start: 2027-06-03"),
    ("cohort-date-gate-after-the-school-years",
     lambda t: with_second_cohort(t, "      kind: date\n      on: 2031-01-05\n"),
     "cohorts[1].gate.on", ["opens on 2031-01-05, after the plan's school years",
                            "calendar.years[3].end = 2030-05-31"], "on: 2031-01-05"),
    ("cohort-date-gate-before-the-school-years",
     lambda t: with_second_cohort(t, "      kind: date\n      on: 2025-09-01\n"),
     "cohorts[1].gate.on", ["opens on 2025-09-01, before the plan's school years",
                            "calendar.years[0].start = 2026-08-17"], "on: 2025-09-01"),
    ("blackout-date-outside-its-school-year",
     lambda t: replace_once(t, "[2027-09-06, 2028-01-17", "[2028-07-05, 2028-01-17"),
     "calendar.years[1].blackout_dates[0]",
     ["blackout date 2028-07-05 is outside school year '2027-28' (2027-08-16..2028-06-02)"],
     "2028-07-05"),
    ("installation-exit-requires-pd-the-plan-does-not-have",
     lambda t: replace_once(t, "    Installation:\n", "    Full Implementation:\n"),
     "pd.sessions.Installation",
     ["exit_criteria.installation.require_pd_scheduled = true",
      "no PD sessions for Installation", "no site could leave Installation"], "  sessions:"),
]


@pytest.mark.parametrize(("edit", "path", "fragments", "needle"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_plan_breaking_a_cross_field_rule_is_refused_naming_both_fields(edit, path, fragments,
                                                                          needle):
    text = edit(small_text())
    with pytest.raises(PlanError) as refused:
        parse_plan(text, source="small.yaml")
    (issue,) = refused.value.errors
    assert issue.path == path, str(refused.value)
    for fragment in fragments:
        assert fragment in issue.message, str(refused.value)
    assert issue.line == line_of(text, needle)


@pytest.mark.parametrize("edit", [
    lambda t: with_criteria(replace_once(t, "fidelity_min_percent: 50", "fidelity_min_percent: 1"),
                            "  regression:\n    fidelity_collapse_percent: 0\n"),
    lambda t: with_criteria(t, "  regression:\n    fidelity_collapse_percent: 0\n"),
    lambda t: with_criteria(t, "  regression:\n    fidelity_collapse_percent: 49.5\n"),
    lambda t: later_second_year(t, "2027-10-02"),
    lambda t: with_second_cohort(t, "      kind: date\n      on: 2030-05-31\n"),
    lambda t: with_second_cohort(t, "      kind: date\n      on: 2026-08-17\n"),
    lambda t: with_criteria(replace_once(t, "    Installation:\n", "    Full Implementation:\n"),
                            "  installation:\n    require_pd_scheduled: false\n"),
], ids=["mark-of-1-percent", "no-regression-at-all", "collapse-just-under-the-mark",
        "a-summer-of-120-days", "gate-on-the-last-school-day", "gate-on-the-first-school-day",
        "no-installation-pd-when-none-is-required"])
def test_plans_on_the_right_side_of_each_rule_are_valid(edit):
    parse_plan(edit(small_text()))


def test_the_rules_hold_for_code_that_starts_a_plan_but_do_not_stop_a_plan_loading():
    """A running initiative's workflow loads its plan on every run: the model itself still reads
    a plan that breaks a rule added later; starting one is refused (`require_whole`)."""
    data = parse_plan(small_text()).model_dump(mode="json")
    data["exit_criteria"]["regression"]["fidelity_collapse_percent"] = 70
    data["sites"][1]["name"] = "Lakeview\x07"
    plan = Plan.model_validate(data)
    with pytest.raises(Invalid) as refused:
        require_whole(plan)
    assert [i.path for i in refused.value.issues] == [
        ("exit_criteria", "regression", "fidelity_collapse_percent"), ("sites", 1, "name")]


async def test_launching_a_plan_that_does_not_hold_is_refused_before_temporal_is_asked():
    """`rollout start` validates through parse_plan; code that launches a Plan it built is
    refused by launch_initiative itself (no client is needed to refuse it)."""
    data = parse_plan(small_text()).model_dump(mode="json")
    data["exit_criteria"]["full_implementation"]["fidelity_min_percent"] = 0.6
    with pytest.raises(OperationError, match=r"The plan cannot be started: exit_criteria\."
                                             r"full_implementation\.fidelity_min_percent: 0\.6 is "
                                             r"read as 0\.6%"):
        await launch_initiative(None, Plan.model_validate(data), STATE_ADMIN, task_queue="q",
                                speedup=1.0)
    with pytest.raises(OperationError, match="'rollout-engine' is the engine's own id"):
        await launch_initiative(None, parse_plan(small_text()), Actor(
            id="rollout-engine", role=Role.STATE_ADMIN), task_queue="q", speedup=1.0)
