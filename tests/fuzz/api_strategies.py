"""Generated HTTP requests for the API's and the web pages' changing routes: JSON bodies (shaped
like the real ones with bad values, mutated, or random), path ids (real, another district's, made
up), query strings, and web form posts carrying the session's CSRF value (or a wrong one).

Live ids are picked by index (not sampled_from a live list), so what hypothesis draws does not
depend on how many tasks happen to be open.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.fuzz.plan_strategies import values
from tests.fuzz.update_strategies import _mutated, assessments, figures, ids, texts

PRINCIPALS = ("coordinator", "coordinator", "state_admin", "coach", "auditor", "other_district")
FORM_FIELDS = ["attendees", "practitioners_observed", "facilitator", "practitioners_assessed",
               "practitioners_meeting", "decision", "signed_by", "implementation_team_members",
               "nonce", "items.0.score", "items.1.score", "items.0.in_place", "ratings.0.rating",
               "participants.0.role", "participants.0.count", "notes"]
query_values = st.one_of(st.integers(-5, 2000).map(str), texts,
                         st.sampled_from(["open", "completed", "withdrawn", "true", "", "%00", "-1"]))
queries = st.dictionaries(
    st.one_of(st.sampled_from(["limit", "offset", "status", "site", "initiative", "include_inactive"]),
              st.text(min_size=1, max_size=8)), query_values, max_size=4)


def _pick(live: list[str], fallback: str):
    return st.integers(0, 63).flatmap(lambda i: ids if i < 10 else st.just(
        live[i % len(live)] if live else fallback))


def _body(shaped) -> Any:
    return st.integers(0, 9).flatmap(lambda n: values if n == 0 else shaped if n < 8 else
                                     shaped.flatmap(lambda b: st.composite(
                                         lambda draw: _mutated(draw, b))()))


@st.composite
def api_requests(draw, initiative: str, sites: list[str], task_ids: list[str],
                 token_ids: list[str]) -> dict:
    """{"route", "principal", "method", "url", and "json" or "form" or "params"}."""
    route = draw(st.sampled_from(["complete", "complete", "assess", "assess", "token", "revoke",
                                  "web task", "web task", "web login", "tasks query"]))
    principal = draw(st.sampled_from(PRINCIPALS))
    task = draw(_pick(task_ids, "none"))
    extra = draw(st.one_of(st.just({}), queries))
    if route == "complete":
        body = draw(_body(st.fixed_dictionaries({}, optional={"outcome": st.one_of(
            st.fixed_dictionaries({}, optional={"attendees": figures, "practitioners_observed": figures,
                                                "done": st.booleans()}),
            st.dictionaries(st.text(max_size=110), st.one_of(figures, texts,
                                                             st.text(min_size=1990, max_size=2010)),
                            max_size=3), values)})))
        return dict(route=route, principal=principal, method="POST", url=f"/tasks/{quote(task, safe='')}/complete",
                    json=body, params=extra)
    if route == "assess":
        site = draw(st.integers(0, 9).flatmap(lambda n: ids if n == 0 else st.sampled_from(sites)))
        where = draw(st.integers(0, 9).flatmap(lambda n: ids if n == 0 else st.just(initiative)))
        body = draw(_body(st.fixed_dictionaries(
            {"assessment": assessments},
            optional={"assessment_id": ids, "task_id": st.one_of(st.just(task), st.none())})))
        return dict(route=route, principal=principal, method="POST",
                    url=f"/sites/{quote(where, safe='')}/{quote(site, safe='')}/assessments", json=body, params=extra)
    if route == "token":
        body = draw(_body(st.fixed_dictionaries(
            {"role": st.one_of(st.sampled_from(["state_admin", "district_coordinator", "coach",
                                                "auditor"]), texts)},
            optional={"district": st.one_of(st.sampled_from(sites), ids, st.none()),
                      "name": texts, "actor_id": st.one_of(ids, st.sampled_from(
                          ["rollout-engine", "ROLLOUT-ENGINE", "rollout-worker", "rollout-"])),
                      "expires_in_days": st.one_of(st.integers(-5, 4000), figures)})))
        return dict(route=route, principal=draw(st.sampled_from(["state_admin", "state_admin",
                                                                 "coordinator"])),
                    method="POST", url="/tokens", json=body, params=extra)
    if route == "revoke":
        token = draw(st.one_of(st.sampled_from(token_ids), st.from_regex(r"[0-9a-f]{12}", fullmatch=True),
                               ids))
        return dict(route=route, principal=draw(st.sampled_from(["state_admin", "coach"])),
                    method="POST", url=f"/tokens/{quote(token, safe='')}/revoke", json=draw(st.one_of(st.none(), values)),
                    params=extra)
    if route == "web task":
        form = draw(st.dictionaries(st.one_of(st.sampled_from(FORM_FIELDS), st.text(max_size=10)),
                                    st.one_of(figures.map(str), texts), max_size=6))
        csrf = draw(st.sampled_from(["valid", "valid", "valid", "wrong", "missing"]))
        return dict(route=route, principal=draw(st.sampled_from(["coordinator", "coach", "auditor"])),
                    method="POST", url=f"/web/tasks/{quote(task, safe='')}", form=form, csrf=csrf, params=extra)
    if route == "web login":
        form = draw(st.fixed_dictionaries({}, optional={"token": st.one_of(texts, st.just("valid")),
                                                        "next": st.one_of(texts, st.just("/web/inbox"))}))
        return dict(route=route, principal=principal, method="POST", url="/web/login", form=form,
                    csrf="missing", params=extra)
    return dict(route=route, principal=principal, method="GET", url="/tasks", params=draw(queries))
