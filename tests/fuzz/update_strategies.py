"""Generated Update payloads, as raw JSON-shaped dicts (what any Temporal client can send, not only
ours): well-formed requests with wrong roles, districts, task ids, stages, scores and figures;
the same with keys dropped, added or retyped; and random values in place of the request.

`live` ids (the site's real tasks, cohorts and sites) are passed in by the test, drawn from the
running workflow, so valid-shaped requests reach the rules rather than stopping at "no such task".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from domain.actors import SYSTEM, Role
from domain.instruments import MOST_ITEMS
from domain.stages import Stage
from tests.domain.builders import adoption, capacity, checklist, fidelity, readiness
from tests.fuzz.plan_strategies import values

ROLES = [r.value for r in Role if r is not Role.SYSTEM]
texts = st.one_of(st.text(max_size=30), st.sampled_from(
    ["", "ok", "on hold", "a reason with a nul\x00 inside", "line one\nline two"]))
"""Free text: anything, and the cases that matter most (too short, NUL, a line break)."""
reasons = st.one_of(texts, st.sampled_from(["district asked for a pause", "budget review\x00pending"]))
slugs = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
ids = st.integers(0, 9).flatmap(lambda n: slugs if n < 6 else texts if n < 9 else
                                st.text(min_size=201, max_size=260))
figures = st.one_of(st.integers(-10, 60), st.integers(), st.integers(9_990, 10_010),
                    st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                    st.sampled_from(["", "12", "abc", "1e3", " 7 ", "-1"]))
"""Counts people report (attendees, practitioners observed): in range, out of range, not numbers."""
bad_counts = st.one_of(st.integers(max_value=-1), st.integers(min_value=10_001),
                       st.sampled_from(["abc", "-1", "1e3", "", "10001", "2.5", 2.5, -0.5, 0.5, 1e30,
                                        True, False]))
counts = st.integers(0, 2).flatmap(lambda n: figures if n == 0 else bad_counts)
"""Mostly counts the record cannot hold: the first report closes the task, so it must often be bad
(fractions and true/false included: they are not counts either)."""
GOOD_ASSESSMENTS = [a.model_dump(mode="json") for a in (
    readiness(), readiness(1), adoption(), adoption("decline"), checklist(), checklist(3),
    capacity(), capacity(0), fidelity(18), fidelity(2))]
LONG_ASSESSMENTS = [
    {"instrument": "stage_analysis", "items": [{"item": f"i{n}", "status": "partly"}
                                               for n in range(size)]}
    for size in (MOST_ITEMS, MOST_ITEMS + 1, 2_000)] + [
    {"instrument": "installation_checklist", "items": [{"item": "team_formed", "in_place": True}] * 150}]
"""Assessments at and over the cap on items (and one listing one item 150 times)."""
assessments = st.integers(0, 9).flatmap(lambda n: st.sampled_from(LONG_ASSESSMENTS) if n == 0
                                        else st.sampled_from(GOOD_ASSESSMENTS))


def _mutated(draw, value: Any, depth: int = 0) -> Any:
    """`value` with one leaf or key somewhere replaced, dropped or added."""
    if depth > 4 or not isinstance(value, (dict, list)) or not value or draw(st.integers(0, 3)) == 0:
        return draw(st.one_of(values, figures))
    if isinstance(value, dict):
        key = draw(st.sampled_from(sorted(value)))
        how = draw(st.sampled_from(["drop", "extra", "deeper"]))
        if how == "drop":
            return {k: v for k, v in value.items() if k != key}
        if how == "extra":
            return {**value, draw(st.text(min_size=1, max_size=10)): draw(values)}
        return {**value, key: _mutated(draw, value[key], depth + 1)}
    index = draw(st.integers(0, len(value) - 1))
    return [*value[:index], _mutated(draw, value[index], depth + 1), *value[index + 1:]]


@st.composite
def actors(draw, districts: list[str]) -> Any:
    """Mostly people who may act (the site's coordinator, a coach, the state admin), else people
    in the wrong role or district, people claiming the engine's own id, and malformed actors."""
    proper = st.sampled_from([
        {"id": "ann.coord", "role": "district_coordinator", "district": districts[0]},
        {"id": "cora.coach", "role": "coach"}, {"id": "sam.state", "role": "state_admin"}])
    if draw(st.integers(0, 9)) < 7:
        return draw(proper)
    return draw(st.one_of(
        st.fixed_dictionaries({"id": st.sampled_from(["ann.coord", "cora.coach", "ada.audit",
                                                      SYSTEM.id, "Rollout-Engine", "rollout-worker"]),
                               "role": st.sampled_from(ROLES)},
                              optional={"district": st.one_of(st.sampled_from(districts), ids, st.none())}),
        st.fixed_dictionaries({"id": ids, "role": st.one_of(st.sampled_from(ROLES), texts)},
                              optional={"district": st.one_of(ids, st.integers())}),
        values))


@st.composite
def site_payloads(draw, site: str, task_ids: list[str]) -> tuple[str, Any]:
    """(update name, payload) for SiteRolloutWorkflow."""
    actor = actors([site, "somewhere-else"])
    site_ids = st.integers(0, 9).flatmap(lambda n: ids if n == 0 else st.just(site))
    # an index, not sampled_from(task_ids): the draws must not depend on how many tasks are open
    task = st.integers(0, 63).flatmap(lambda i: ids if i < 8 else st.just(
        task_ids[i % len(task_ids)] if task_ids else "none"))
    name = draw(st.sampled_from(["submit_assessment", "complete_task", "decide_stage_move", "control",
                                 "manage_task"]))
    if name == "submit_assessment":
        shaped = st.fixed_dictionaries(
            {"actor": actor, "site_id": site_ids, "assessment_id": ids,
             "assessment": assessments},
            optional={"task_id": st.one_of(task, st.none())})
    elif name == "complete_task":
        figures_reported = st.fixed_dictionaries({"attendees": counts}, optional={
            "practitioners_observed": counts})
        shaped = st.fixed_dictionaries(
            {"actor": actor, "site_id": site_ids, "task_id": task,
             "outcome": st.integers(0, 9).flatmap(lambda n: figures_reported if n < 8 else values
                                                 if n == 9 else st.dictionaries(
                                                     st.text(max_size=20), st.one_of(figures, texts),
                                                     max_size=3))})
    elif name == "decide_stage_move":
        shaped = st.fixed_dictionaries(
            {"actor": actor, "site_id": site_ids,
             "decision": st.sampled_from(["approve", "override", "regress", "decline", "skip"]),
             "to_stage": st.sampled_from([s.value for s in Stage] + ["Graduation"])},
            optional={"reason": st.one_of(texts, st.text(min_size=10, max_size=60),
                                          st.text(min_size=1990, max_size=2010))})
    elif name == "manage_task":
        admin = st.integers(0, 2).flatmap(lambda n: st.just(
            {"id": "sam.state", "role": "state_admin"}) if n else actor)
        shaped = st.fixed_dictionaries(
            {"actor": admin, "site_id": site_ids, "task_id": task,
             "action": st.one_of(st.sampled_from(["reassign", "extend", "waive"] * 5), texts),
             "reason": reasons},
            optional={"assignee": st.one_of(st.sampled_from(
                          [f"team:district:{site}", "person:ann@example.org", "district", "team:"]),
                          texts),
                      "due": st.one_of(st.dates(date(2026, 1, 1), date(2031, 12, 31)).map(str),
                                       texts)})
    else:
        admin = st.integers(0, 1).flatmap(lambda n: st.just(
            {"id": "sam.state", "role": "state_admin"}) if n else actor)
        shaped = st.fixed_dictionaries(
            {"actor": admin, "action": st.one_of(
                st.sampled_from(["pause", "resume"] * 20 + ["cancel"]), texts), "reason": reasons},
            optional={"site_id": st.one_of(site_ids, st.none())})
    payload = draw(shaped if draw(st.integers(0, 9)) else values)
    if isinstance(payload, dict) and draw(st.integers(0, 7)) == 0:
        payload = _mutated(draw, payload)
    return name, payload


@st.composite
def initiative_payloads(draw, cohorts: list[str], sites: list[str]) -> tuple[str, Any]:
    """(update name, payload) for InitiativeWorkflow."""
    actor = st.integers(0, 9).flatmap(lambda n: st.just(
        {"id": "sam.state", "role": "state_admin"}) if n < 5 else actors(sites))
    if draw(st.integers(0, 3)) == 0:
        name = "approve_cohort"
        shaped = st.fixed_dictionaries(
            {"actor": actor, "cohort_id": st.one_of(st.sampled_from(cohorts), ids)},
            optional={"note": st.one_of(texts, st.text(min_size=1990, max_size=2010))})
    else:
        name = "control"
        shaped = st.fixed_dictionaries(
            {"actor": actor, "action": st.integers(0, 9).flatmap(lambda n: texts if n == 0 else
                                                                  st.sampled_from(["pause", "resume"] * 20 + ["cancel"]))},
            optional={"reason": texts, "site_id": st.integers(0, 9).flatmap(
                lambda n: st.none() if n < 5 else ids if n == 9 else st.sampled_from(sites))})
    payload = draw(shaped if draw(st.integers(0, 9)) else values)
    if isinstance(payload, dict) and draw(st.integers(0, 7)) == 0:
        payload = _mutated(draw, payload)
    return name, payload
