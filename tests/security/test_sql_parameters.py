"""SQL only through parameters (issue 7, area 6): every database call in the product builds its SQL
text from constants (tests/security/sql_calls.py says what counts), and hostile values sent
through the API's paths and queries are answered 404 or 422 (a search: 200 finding nothing), with
the events table untouched."""

from __future__ import annotations

import textwrap
from urllib.parse import quote

import pytest

from domain.actors import Role
from domain.stages import Stage
from tests.api.conftest import DISTRICT_A
from tests.security.sql_calls import Checker, files

ALLOWED = {
    ("store/migrate.py", "sql"):
        "the migration files shipped in store/migrations, applied in order; no input reaches them",
    ("store/projections/rebuild.py", "f\"TRUNCATE {', '.join(tables)}\""):
        "table names from the projection registry (PROJECTIONS[name].tables), fixed in code",
}


def test_every_sql_call_in_the_product_is_built_from_constants():
    calls = [c for f in files() for c in Checker().calls(f)]
    print(f"SQL calls scanned: {len(calls)} in {len(files())} files")
    assert len(calls) >= 90
    found = [c for c in calls if not c.constant
             and (c.where.rsplit(":", 1)[0], c.sql) not in ALLOWED]
    assert not found, "SQL built from something other than constants:\n" + "\n".join(
        f"{c.where}: {c.method}({c.sql})" for c in found)
    used = {(c.where.rsplit(":", 1)[0], c.sql) for c in calls if not c.constant}
    assert used == set(ALLOWED), f"stale allow-list entries: {set(ALLOWED) - used}"


@pytest.mark.parametrize("snippet", [
    'await pool.fetch(f"SELECT * FROM events WHERE stream_id = \'{stream}\'")',
    'await pool.fetch("SELECT * FROM events WHERE stream_id = \'" + stream + "\'")',
    'await pool.fetch("SELECT * FROM events WHERE stream_id = \'%s\'" % stream)',
    'await pool.fetch("SELECT * FROM events WHERE stream_id = \'{}\'".format(stream))',
    'sql = f"DELETE FROM tasks WHERE task_id = \'{stream}\'"\n    await conn.execute(sql)',
    'await conn.execute(query=f"SELECT {stream}")',
])
def test_the_check_finds_sql_built_from_a_value(tmp_path, snippet):
    """Each way of splicing a value into SQL is caught, also through a helper's parameter."""
    module = tmp_path / "leaky.py"
    module.write_text('COLUMNS = "stream_id, type"\n\n\nasync def read(pool, conn, stream):\n'
                      f'    {snippet}\n'
                      '    await pool.fetch(f"SELECT {COLUMNS} FROM events WHERE stream_id = $1", '
                      'stream)\n')
    calls = Checker().calls(module)
    assert [c.constant for c in calls] == [False, True], calls


def test_a_helper_parameter_is_constant_only_if_every_caller_passes_one(tmp_path):
    module = tmp_path / "helper.py"
    module.write_text(textwrap.dedent("""\
        async def _fetch(pool, where):
            return await pool.fetch(f"SELECT * FROM events WHERE {where}")

        async def good(pool):
            return await _fetch(pool, "stream_id = $1")

        async def bad(pool, name):
            return await _fetch(pool, f"stream_id = '{name}'")
        """))
    assert [c.constant for c in Checker().calls(module)] == [False]
    module.write_text(module.read_text().replace("f\"stream_id = '{name}'\"", '"type = $1"'))
    assert [c.constant for c in Checker().calls(module)] == [True]


SEARCHES = ("/audit/actors/", "/audit/window")
"""Searches (and the /tasks inbox): a value matching nothing finds nothing (200, no items), as
the API's docs say; every other read answers 404 or 422."""
HOSTILE = ["'", "''", "\"", "'; DROP TABLE events;--", "x' OR '1'='1", "a\\\\b", "%", "_",
           "école-ünïcødé-名前", "😀", "$1", "\u202e", "a" * 300, "..", "null"]


@pytest.mark.postgres
@pytest.mark.temporal
async def test_hostile_values_in_paths_and_queries_are_refused_and_change_nothing(api, world):
    initiative = await world.launch("hostile", districts=(DISTRICT_A,))
    await world.in_stage(initiative, DISTRICT_A, Stage.EXPLORATION, ("fit_readiness",))
    admin = await api.headers(Role.STATE_ADMIN)
    before = await _events_fingerprint(api.pool)
    assert before[1] > 0
    answered: dict[int, int] = {}
    for value in HOSTILE:
        part = quote(value, safe="")
        for url, params in (
                (f"/tasks/{part}", None),
                (f"/sites/{part}/{part}", None),
                (f"/sites/{initiative}/{part}", None),
                (f"/audit/sites/{initiative}/{part}", None),
                (f"/initiatives/{part}/status", None),
                (f"/initiatives/{part}/board", None),
                (f"/audit/sites/{part}/{part}", None),
                (f"/audit/initiatives/{part}", None),
                (f"/audit/actors/{part}", None),
                ("/tasks", {"site": value}),
                ("/tasks", {"initiative": value, "status": value}),
                ("/audit/window", {"since": value, "until": value}),
                ("/audit/window", {"since": "2000-01-01T00:00:00Z",
                                   "until": "2200-01-01T00:00:00Z", "initiative": value})):
            answer = await api.http.get(url, params=params, headers=admin)
            answered[answer.status_code] = answered.get(answer.status_code, 0) + 1
            if answer.status_code == 200 and (url == "/tasks" or url.startswith(SEARCHES)):
                found = answer.json()
                assert found.get("count", len(found.get("tasks", []))) == 0, (url, answer.text)
                continue
            assert answer.status_code in (404, 422), (url, params, answer.status_code, answer.text)
            assert answer.json()["error"], (url, answer.text)
        posted = await api.http.post(f"/tasks/{part}/complete", json={"outcome": {"note": value}},
                                     headers=admin)
        assert posted.status_code in (404, 422), (value, posted.text)
    print(f"hostile requests: {sum(answered.values())}, answers by status: {answered}")
    assert await _events_fingerprint(api.pool, before[0]) == before
    assert await api.pool.fetchval("SELECT to_regclass('public.events') IS NOT NULL")


async def _events_fingerprint(pool, upto: int | None = None) -> tuple:
    """The events recorded up to a position (the rollouts of other tests keep appending): that
    position, how many there are and a digest of their hashes."""
    if upto is None:
        upto = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    count, digest = await pool.fetchrow(
        "SELECT count(*), coalesce(md5(string_agg(hash, ',' ORDER BY position)), '') FROM events "
        "WHERE position <= $1", upto)
    return upto, count, digest
