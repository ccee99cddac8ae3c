"""Importing results from a CSV file, checked without servers: every row, every assessment and
the site's own rules, before anything is sent; the same rows again change nothing."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain import commands as c
from domain.criteria import ExitCriteria, InstrumentChoices
from domain.rollout import decide, fold
from instrument_library import built_in
from rollouts.imports import ImportRefused, plan_import
from tests.domain.builders import OTHER_COORDINATOR, STATE, Clock, enrolled
from tests.domain.test_rollout import to_initial

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = built_in()
DCA = CATALOGUE.require("dca", "6.0")
HEADER = ["initiative", "site", "instrument", "version", "item", "score", "date", "facilitator",
          "participants", "resolution"]
SITES = [f"district-{n:02d}" for n in range(5)]


def capacity_rows(sites=SITES, dates=8) -> list[list[str]]:
    """`dates` capacity assessments a site, 26 items each (5 x 8 x 26 = 1,040 rows)."""
    rows = []
    for site in sites:
        for d in range(dates):
            taken = (date(2025, 9, 1) + timedelta(days=30 * d)).isoformat()
            for n, item in enumerate(DCA.items):
                rows.append(["pbis", site, "dca", "6.0", item.id, str((n + d) % 3), taken,
                             "Regional facilitator", "district leader:3; principal:2", ""])
    return rows


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    return out.getvalue()


def states(sites=SITES, **overrides):
    return {("pbis", s): enrolled(site_id=s, site_name=s, **overrides) for s in sites}


def test_a_thousand_rows_with_three_bad_ones_are_refused_naming_those_rows():
    rows = capacity_rows()
    assert len(rows) == 1040
    rows[10][4] = "27"            # line 12: an item the DCA does not have
    rows[500][5] = "3"            # line 502: not on the 0-2 scale
    rows[999][6] = "2025-02-30"   # line 1001: no such day
    with pytest.raises(ImportRefused) as refused:
        plan_import(as_csv(rows), CATALOGUE, states(), STATE)
    assert refused.value.lines == [12, 502, 1001]
    assert [(p.line, p.field) for p in refused.value.problems] == [
        (12, "item"), (502, "score"), (1001, "date")]
    assert "dca@6.0 has no item '27'" in str(refused.value)
    assert "not a level of dca@6.0's 0-2 scale (0, 1, 2)" in str(refused.value)


def test_the_fixed_file_is_planned_once_and_a_second_import_changes_nothing():
    text = as_csv(capacity_rows())
    sites = states()
    planned = plan_import(text, CATALOGUE, sites, STATE, source="results.csv")
    assert len(planned) == 40 and sum(len(p.lines) for p in planned) == 1040
    assert not any(p.already_recorded for p in planned)
    first = planned[0]
    assert first.assessment.taken_on == date(2025, 9, 1) and first.assessment.key.ref == "dca@6.0"
    assert first.assessment.notes == "Imported from results.csv, lines 2-27"
    assert first.assessment.consensus.participants == {"district leader": 3, "principal": 2}
    clock = Clock()
    for p in planned:  # what the rollouts record when the file is sent
        key = (p.initiative_id, p.site_id)
        sites[key] = fold(decide(sites[key], c.SubmitAssessment(
            at=clock.tick(), actor=STATE, assessment_id=p.assessment_id,
            assessment=p.assessment)), sites[key])
    again = plan_import(text, CATALOGUE, sites, STATE)
    assert [p.assessment_id for p in again] == [p.assessment_id for p in planned]
    assert all(p.already_recorded for p in again)
    corrected = capacity_rows()
    corrected[0][5] = "2" if corrected[0][5] != "2" else "1"
    changed = plan_import(as_csv(corrected), CATALOGUE, sites, STATE)
    assert [p.already_recorded for p in changed].count(False) == 1, "a correction is a new record"


@pytest.mark.parametrize("edit, line, field, message", [
    (lambda rows: rows.pop(3), 2, "item", "missing 4"),
    (lambda rows: rows.append(rows[0][:]), 28, "item", "already on line 2"),
    (lambda rows: rows[5].__setitem__(7, "Someone else"), 7, "facilitator", "differs from line 2"),
    (lambda rows: [r.__setitem__(7, "") for r in rows], 2, "facilitator", "name the facilitator"),
    (lambda rows: rows[1].__setitem__(8, "principal=2"), 3, "participants", "is not role:count"),
    (lambda rows: rows[0].__setitem__(1, "nowhere"), 2, "site", "has no site 'nowhere'"),
    (lambda rows: rows[0].__setitem__(2, "tfx"), 2, "instrument", "no instrument definition 'tfx'"),
    (lambda rows: rows[0].__setitem__(3, "9"), 2, "version", "'dca' has no version '9'"),
    (lambda rows: rows[0].__setitem__(6, ""), 2, "date", "required"),
])
def test_each_problem_is_named_at_its_row_and_field(edit, line, field, message):
    rows = capacity_rows(sites=SITES[:1], dates=1)
    edit(rows)
    with pytest.raises(ImportRefused) as refused:
        plan_import(as_csv(rows), CATALOGUE, states(SITES[:1]), STATE)
    found = [(p.line, p.field, p.message) for p in refused.value.problems]
    assert any(l == line and f == field and message in m for l, f, m in found), found


def test_the_sites_rules_judge_each_assessment():
    rows = capacity_rows(sites=SITES[:2], dates=1)
    tfi_plan = states(SITES[:1], criteria=ExitCriteria(instruments=InstrumentChoices(
        capacity={"id": "dbpa", "version": "1"})))
    with pytest.raises(ImportRefused) as refused:
        plan_import(as_csv(rows), CATALOGUE, {**states(SITES[1:2]), **tfi_plan}, STATE)
    [problem] = refused.value.problems
    assert (problem.line, problem.field) == (2, "instrument")
    assert "takes its capacity from dbpa@1, not dca@6.0" in problem.message
    with pytest.raises(ImportRefused, match="coordinates district 'baker'"):
        plan_import(as_csv(rows[:26]), CATALOGUE, states(SITES[:1]), OTHER_COORDINATOR)
    closed = {k: s.model_copy(update={"status": "completed"}) for k, s in states(SITES[:1]).items()}
    with pytest.raises(ImportRefused, match="is completed; nothing more can be recorded"):
        plan_import(as_csv(rows[:26]), CATALOGUE, closed, STATE)


def test_fidelity_results_import_as_tiers_or_as_a_share():
    clock = Clock()
    tfi_site = to_initial(enrolled(site_id="school-a", site_name="School A", kind="school",
                                   district="adams", criteria=ExitCriteria(
        instruments=InstrumentChoices(fidelity={"id": "tfi", "version": "2.1"}))), clock)
    share_site = to_initial(enrolled(site_id="school-b", site_name="School B", kind="school",
                                     district="adams"), clock)
    rows = [["pbis", "school-a", "tfi", "2.1", item.id, "2", "2026-01-20", "", "school team:6", ""]
            for item in CATALOGUE.require("tfi", "2.1").items_of("tier-1")]
    rows += [["pbis", "school-b", "practitioner-fidelity", "1", "assessed", "24", "2026-01-20", "",
              "", ""],
             ["pbis", "school-b", "practitioner-fidelity", "1", "meeting", "15", "2026-01-20", "",
              "", ""]]
    planned = plan_import(as_csv(rows), CATALOGUE, {("pbis", "school-a"): tfi_site,
                                                    ("pbis", "school-b"): share_site}, STATE)
    assert [(p.site_id, p.definition) for p in planned] == [("school-a", "tfi@2.1"),
                                                           ("school-b", "practitioner-fidelity@1")]
    assert planned[1].assessment.practitioners_meeting == 15


def test_the_example_file_plans_cleanly():
    example = (ROOT / "examples" / "results.csv").read_text()
    sites = {}
    for row in csv.DictReader(io.StringIO(example)):
        key = (row["initiative"], row["site"])
        if key not in sites:
            state = enrolled(initiative_id=key[0], site_id=key[1], site_name=key[1],
                             kind="school", district="adams", criteria=ExitCriteria(instruments=InstrumentChoices(
                                 fidelity={"id": "tfi", "version": "2.1"})))
            sites[key] = to_initial(state, Clock()) if row["instrument"] == "tfi" else state
    planned = plan_import(example, CATALOGUE, sites, STATE)
    assert [(p.site_id, p.definition, len(p.lines)) for p in planned] == [
        ("cedar-falls-lincoln-es", "tfi@2.1", 15), ("cedar-falls-sd", "dca@6.0", 26),
        ("cedar-falls-sd", "dca@6.0", 26), ("lakeview-usd", "dca@6.0", 26)]
