"""Invalid plans: each case starts from the small example, breaks one thing, and expects that
problem reported at its path (and line) with its own message."""

from __future__ import annotations

import pytest

from domain.plan import Plan
from domain.plan_yaml import PlanError, dump_plan, parse_plan
from domain.stages import Stage
from tests.plan.examples import STATE_SCALE, line_of, replace_once, small_text

SECOND_COHORT = """
  - id: {id}
    name: Cohort 2
    members: [{members}]
    gate:
      kind: decision
"""


def add_cohort(text: str, id: str, members: str) -> str:
    return replace_once(text, "      kind: immediate\n",
                        "      kind: immediate\n" + SECOND_COHORT.format(id=id, members=members))


def without_site(text: str, site_id: str) -> str:
    start = text.index(f"  - id: {site_id}\n")
    end = text.index("  - id:", start + 1)
    return text[:start] + text[end:]


DUPLICATE_SITE = """  - id: lakeview-usd
    name: Lakeview Unified (entered twice)
    kind: district
    region: North
"""

# (case id, edit of the small example's text, expected path, message fragment, line needle,
#  number of problems reported)
CASES = [
    ("unknown-cohort-member",
     lambda t: replace_once(t, "prairie-ridge-central-es]", "prairie-ridge-central-es, d-999]"),
     "cohorts[0].members[5]", "cohort 'cohort-1' lists unknown site 'd-999'", "d-999", 1),
    ("missing-site",
     lambda t: without_site(t, "lakeview-usd"),
     "cohorts[0].members[1]", "cohort 'cohort-1' lists unknown site 'lakeview-usd'",
     "lakeview-usd", 1),
    ("duplicate-site-id",
     lambda t: replace_once(t, "\ncohorts:\n", DUPLICATE_SITE + "\ncohorts:\n"),
     "sites[5].id", "duplicate site id 'lakeview-usd' (also sites[1])",
     "id: lakeview-usd\n    name: Lakeview Unified (entered twice)", 1),
    ("duplicate-cohort-id",
     lambda t: add_cohort(replace_once(t, "cedar-falls-lincoln-es,\n              "
                                          "prairie-ridge-central-es]", "cedar-falls-lincoln-es]"),
                          "cohort-1", "prairie-ridge-central-es"),
     "cohorts[1].id", "duplicate cohort id 'cohort-1' (also cohorts[0])",
     "id: cohort-1\n    name: Cohort 2", 1),
    ("site-in-two-cohorts",
     lambda t: add_cohort(t, "cohort-2", "lakeview-usd"),
     "cohorts[1].members[0]",
     "cohort 'cohort-2' lists site 'lakeview-usd' but site 'lakeview-usd' is already in cohort "
     "'cohort-1'", "members: [lakeview-usd]", 1),
    ("site-listed-twice",
     lambda t: replace_once(t, "prairie-ridge-central-es]", "prairie-ridge-central-es, lakeview-usd]"),
     "cohorts[0].members[5]", "cohort 'cohort-1' lists site 'lakeview-usd' twice",
     "prairie-ridge-central-es, lakeview-usd]", 1),
    ("site-in-no-cohort",
     lambda t: replace_once(t, "[cedar-falls-sd, lakeview-usd, ", "[cedar-falls-sd, "),
     "sites[1].id", "site 'lakeview-usd' is in no cohort", "id: lakeview-usd", 1),
    ("school-without-district",
     lambda t: replace_once(t, "    district: cedar-falls-sd\n", ""),
     "sites[3].district", "school 'cedar-falls-lincoln-es' needs a district",
     "id: cedar-falls-lincoln-es", 1),
    ("school-district-unknown",
     lambda t: replace_once(t, "district: cedar-falls-sd", "district: cedar-fals-sd"),
     "sites[3].district", "school 'cedar-falls-lincoln-es' names district 'cedar-fals-sd', which "
     "is not a site in the plan", "district: cedar-fals-sd", 1),
    ("school-district-is-a-school",
     lambda t: replace_once(t, "district: prairie-ridge-sd", "district: cedar-falls-lincoln-es"),
     "sites[4].district", "'cedar-falls-lincoln-es' is a school",
     "district: cedar-falls-lincoln-es", 1),
    ("district-with-a-district",
     lambda t: replace_once(t, "    region: North\n    practitioners: 28\n",
                            "    region: North\n    district: cedar-falls-sd\n    practitioners: 28\n"),
     "sites[1].district", "district 'lakeview-usd' cannot belong to a district",
     "district: cedar-falls-sd\n    practitioners: 28", 1),
    ("readiness-mean-out-of-range",
     lambda t: replace_once(t, "readiness_mean_min: 3.0", "readiness_mean_min: 7"),
     "exit_criteria.exploration.readiness_mean_min", "less than or equal to 5",
     "readiness_mean_min: 7", 1),
    ("capacity-percent-out-of-range",
     lambda t: replace_once(t, "  full_implementation:\n    fidelity_min_percent",
                            "  initial_implementation:\n    capacity_min_percent: 120\n"
                            "  full_implementation:\n    fidelity_min_percent"),
     "exit_criteria.initial_implementation.capacity_min_percent", "less than or equal to 100",
     "capacity_min_percent: 120", 1),
    ("overlapping-breaks",
     lambda t: replace_once(t, "end: 2027-01-01}\n",
                            "end: 2027-01-01}\n        - {name: Snow days, start: 2026-12-31, "
                            "end: 2027-01-05}\n"),
     "calendar.years[0].breaks[2]",
     "break 'Snow days' (2026-12-31..2027-01-05) overlaps break 'Winter break' "
     "(2026-12-21..2027-01-01)", "name: Snow days", 1),
    ("break-outside-year",
     lambda t: replace_once(t, "start: 2027-03-22, end: 2027-03-26",
                            "start: 2027-06-07, end: 2027-06-11"),
     "calendar.years[0].breaks[2]",
     "break 'Spring break' (2027-06-07..2027-06-11) is outside school year '2026-27' "
     "(2026-08-17..2027-06-04)", "start: 2027-06-07", 1),
    ("blackout-outside-year",
     lambda t: replace_once(t, "[2027-09-06, 2028-01-17", "[2027-07-05, 2028-01-17"),
     "calendar.years[1].blackout_dates[0]",
     "blackout date 2027-07-05 is outside school year '2027-28'", "2027-07-05", 1),
    ("year-ends-before-start",
     lambda t: replace_once(t, "end: 2027-06-04", "end: 2026-06-04"),
     "calendar.years[0].end", "school year '2026-27' ends on 2026-06-04, not after it starts on "
     "2026-08-17", "end: 2026-06-04", 1),
    ("break-ends-before-start",
     lambda t: replace_once(t, "start: 2026-11-25, end: 2026-11-27",
                            "start: 2026-11-25, end: 2026-11-20"),
     "calendar.years[0].breaks[0].end",
     "break 'Thanksgiving' ends on 2026-11-20 before it starts on 2026-11-25",
     "end: 2026-11-20", 1),
    ("years-out-of-order",
     lambda t: replace_once(t, "start: 2027-08-16", "start: 2027-06-03"),
     "calendar.years[1].start", "school year '2027-28' starts on 2027-06-03, before school year "
     "'2026-27' ends on 2027-06-04", "start: 2027-06-03", 1),
    ("year-longer-than-a-year",
     lambda t: replace_once(t, "end: 2027-06-04", "end: 2027-08-20"),
     "calendar.years[0].end", "lasts a year or more", "end: 2027-08-20", 1),
    ("invalid-date",
     lambda t: replace_once(t, "start: 2028-08-14", "start: 2028-02-30"),
     "calendar.years[2].start", "day value is outside expected range", "start: 2028-02-30", 1),
    ("unknown-stage-in-pd-sessions",
     lambda t: replace_once(t, "    Installation:\n", "    Instalation:\n"),
     "pd.sessions.Instalation", "unknown value 'Instalation'; expected 'Exploration', "
     "'Installation'", "Instalation:", 1),
    ("unknown-field-typo",
     lambda t: replace_once(t, "practitioners: 42", "practitoners: 42"),
     "sites[0].practitoners", "unknown field 'practitoners' (did you mean 'practitioners'?)",
     "practitoners: 42", 1),
    ("first-cohort-share-gate",
     lambda t: replace_once(t, "      kind: immediate\n",
                            "      kind: share\n      stage: Installation\n      percent: 50\n"),
     "cohorts[0].gate.kind", "the first cohort 'cohort-1' cannot wait for a share", "kind: share", 1),
    ("unknown-gate-kind",
     lambda t: replace_once(t, "kind: immediate", "kind: sometimes"),
     "cohorts[0].gate.kind", "does not match any of the expected tags", "kind: sometimes", 1),
    ("share-gate-percent-out-of-range",
     lambda t: add_cohort(replace_once(t, "cedar-falls-lincoln-es,\n              "
                                          "prairie-ridge-central-es]", "cedar-falls-lincoln-es]"),
                          "cohort-2", "prairie-ridge-central-es").replace(
         "      kind: decision\n", "      kind: share\n      stage: Installation\n      percent: 150\n"),
     "cohorts[1].gate.percent", "less than or equal to 100", "percent: 150", 1),
    ("trainer-region-unknown",
     lambda t: replace_once(t, "      region: South\n", "      region: Sauth\n"),
     "pd.trainers[1].region", "trainer 'south-literacy-1' serves region 'Sauth', where the plan "
     "has no site", "region: Sauth", 1),
    ("pd-hours-out-of-range",
     lambda t: replace_once(t, "hours: 6\n        capacity: 30\n      - title: Explicit",
                            "hours: 9\n        capacity: 30\n      - title: Explicit"),
     "pd.sessions.Installation[0].hours", "less than or equal to 8", "hours: 9", 1),
    ("approval-for-exploration",
     lambda t: replace_once(t, "[Full Implementation]", "[Exploration, Full Implementation]"),
     "approvals.state_approval_required_for[0]", "its entry cannot wait for an approval",
     "[Exploration, Full Implementation]", 1),
    ("min-cell-size-out-of-range",
     lambda t: replace_once(t, "min_cell_size: 10", "min_cell_size: 3"),
     "privacy.min_cell_size", "greater than or equal to 5", "min_cell_size: 3", 1),
    ("bad-slug",
     lambda t: replace_once(t, "id: k3-structured-literacy", "id: K3 Literacy"),
     "initiative.id", "'K3 Literacy' is not a valid id: use lowercase letters",
     "id: K3 Literacy", 1),
    ("missing-required-field",
     lambda t: replace_once(t, "    simr: >-\n      Increase the percentage of third-grade students "
                               "with disabilities in the cohort\n      districts who score "
                               "proficient or above on the state ELA assessment.\n", ""),
     "initiative.ssip.simr", "required field 'simr' is missing", "  ssip:", 1),
]


@pytest.mark.parametrize(("edit", "path", "message", "needle", "count"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_invalid_plan_reports_path_value_message_and_line(edit, path, message, needle, count):
    text = edit(small_text())
    with pytest.raises(PlanError) as raised:
        parse_plan(text, source="small.yaml")
    errors = raised.value.errors
    matching = [e for e in errors if e.path == path and message in e.message]
    assert matching, f"no error at {path} with {message!r}; got:\n{raised.value}"
    assert matching[0].line == line_of(text, needle)
    assert len(errors) == count, str(raised.value)
    assert path in str(raised.value) and "small.yaml" in str(raised.value)


def test_each_error_shows_the_offending_value():
    text = replace_once(small_text(), "prairie-ridge-central-es]", "prairie-ridge-central-es, d-999]")
    with pytest.raises(PlanError) as raised:
        parse_plan(text)
    (issue,) = raised.value.errors
    assert issue.value == "'d-999'"
    assert str(issue) == (f"line {line_of(text, 'd-999')}: cohorts[0].members[5] = 'd-999': "
                          "cohort 'cohort-1' lists unknown site 'd-999'")


def test_all_problems_of_one_kind_are_reported_together():
    text = replace_once(small_text(), "prairie-ridge-central-es]", "d-998, prairie-ridge-central-es, d-999]")
    with pytest.raises(PlanError) as raised:
        parse_plan(text)
    assert [e.path for e in raised.value.errors] == ["cohorts[0].members[4]", "cohorts[0].members[6]"]


@pytest.mark.parametrize(("text", "fragment", "line"), [
    ("initiative:\n  id: [x\nsites: []\n", "YAML syntax", 3),
    ("initiative: 1\ninitiative: 2\n", "duplicate key", 2),
    ("- just\n- a list\n", "must be a mapping", 1),
    ("", "the plan is empty", 1),
])
def test_yaml_that_is_not_a_plan_mapping_is_a_plan_error_with_a_line(text, fragment, line):
    with pytest.raises(PlanError) as raised:
        parse_plan(text)
    (issue,) = raised.value.errors
    assert fragment in issue.message and issue.line == line


def test_plan_validate_directly_names_the_path_in_the_message():
    """Code that builds a Plan without YAML (the workflow tests, the API) gets readable errors."""
    data = parse_plan(small_text()).model_dump(mode="json")
    data["cohorts"][0]["members"].append("d-999")
    with pytest.raises(ValueError, match=r"cohorts\[0\]\.members\[5\]: cohort 'cohort-1' lists "
                                         r"unknown site 'd-999'"):
        Plan.model_validate(data)


def test_both_examples_validate_and_the_state_scale_one_is_state_sized():
    small = parse_plan(small_text())
    assert len(small.districts()) == 3 and len(small.regions()) == 2
    assert [s.kind for s in small.sites].count("school") >= 1
    assert set(small.pd.sessions) == {Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION}
    state = parse_plan(STATE_SCALE.read_text(encoding="utf-8"))
    assert len(state.districts()) >= 300
    assert len(state.regions()) >= 5
    assert [c.gate.kind for c in state.cohorts] == ["immediate", "share", "date"]
    assert state.cohorts[1].gate.stage is Stage.INITIAL_IMPLEMENTATION
    assert state.cohorts[1].gate.percent == 50
    summary = state.summary()
    assert sum(c.sites for c in summary.cohorts) == len(state.sites)
    assert sum(r.districts for r in summary.regions) == summary.districts >= 300


def test_criteria_overrides_merge_with_the_defaults():
    plan = parse_plan(small_text())
    assert plan.exit_criteria.exploration.readiness_mean_min == 3.0
    assert plan.exit_criteria.installation.checklist_min_percent == 80.0  # not in the file
    assert plan.exit_criteria.full_implementation.fidelity_min_percent == 50.0


@pytest.mark.parametrize("path", ["small.yaml", "state-scale.yaml"])
def test_examples_round_trip_yaml_model_yaml_model(path):
    text = (STATE_SCALE.parent / path).read_text(encoding="utf-8")
    plan = parse_plan(text)
    dumped = dump_plan(plan)
    again = parse_plan(dumped)
    assert again == plan
    assert dump_plan(again) == dumped
    assert again.model_dump(mode="json") == plan.model_dump(mode="json")


def test_the_committed_state_scale_plan_is_the_generator_output():
    """The generator is deterministic and its output is committed: they must agree."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "generate_state_plan", STATE_SCALE.parent / "generate_state_plan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import random

    plan = Plan.model_validate(module.build(random.Random(module.SEED)))
    assert STATE_SCALE.read_text(encoding="utf-8").endswith(dump_plan(plan))


def test_plan_lookups():
    plan = parse_plan(small_text())
    assert plan.site("lakeview-usd").name == "Lakeview Unified School District"
    assert plan.cohort_of("prairie-ridge-central-es").id == "cohort-1"
    assert plan.regions() == ["North", "South"]
    with pytest.raises(ValueError, match="no site 'nowhere'"):
        plan.site("nowhere")
    renamed = plan.model_copy(update={"cohorts": [plan.cohorts[0].model_copy(update={"id": "c9"})]})
    assert renamed.cohort_of("lakeview-usd").id == "c9", "lookups follow an updated copy"
    assert plan.cohort_of("lakeview-usd").id == "cohort-1"
