"""Nothing is reachable without a token but /health, the public docs and the login page (issue 7,
area 6), and nothing can change the audit record (events) through the API or in the database.

Who covers what: tests/api/test_tokens.py walks every API route without a token and with a
revoked one (401, /health 200); tests/api/test_authorization_matrix.py pins the routes outside the
API to the public docs (/openapi.json, /docs, /docs/oauth2-redirect: readable without a token,
they hold no data). This module walks the rest, the web pages under /web, and the audit's write
surface.
"""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx
import pytest
from fastapi.routing import iter_route_contexts

from api.pages.session import COOKIE, PREFIX
from domain.actors import Role
from tests.workflows.harness import owner_dsn

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

PUBLIC_PAGES = {("GET", "/web/login"), ("POST", "/web/login"), ("POST", "/web/logout"),
                ("GET", "/web/static")}
"""Signing in and out need no session, nor does the stylesheet; none of them holds data."""
CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def routes(app) -> set[tuple[str, str]]:
    found = set()
    for c in iter_route_contexts(app.routes):
        found |= {(m, c.path) for m in (c.methods or {"GET"}) - {"HEAD"}}
    return found


async def test_every_web_page_needs_a_session(api):
    pages = {(m, p) for m, p in routes(api.app) if p == PREFIX or p.startswith(PREFIX + "/")}
    assert len(pages) >= 10, pages
    forged = {"Cookie": f"{COOKIE}=rollout_{'a' * 12}_{'b' * 43}"}
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as http:
        static = await http.get(f"{PREFIX}/static/site.css")
        for method, path in sorted(pages - PUBLIC_PAGES):
            url = re.sub(r"\{[^}]+\}", "x", path)
            for cookie in ({}, forged):
                answer = await http.request(method, url, headers=cookie, data={"csrf": "0" * 32})
                if method == "GET":
                    assert answer.status_code == 303, (method, path, answer.status_code)
                    assert answer.headers["location"].startswith(f"{PREFIX}/login"), path
                else:
                    assert answer.status_code == 401, (method, path, answer.status_code)
                    assert "sign in" in answer.text.lower()
    print(f"web pages checked without a session: {len(pages - PUBLIC_PAGES)} "
          f"(public: {sorted(PUBLIC_PAGES)}; static files: {static.status_code})")


def test_no_route_puts_patches_or_deletes(api):
    assert not {(m, p) for m, p in routes(api.app) if m in ("PUT", "PATCH", "DELETE")}


async def test_the_audit_answers_every_changing_method_with_405_or_404(api):
    admin = await api.headers(Role.STATE_ADMIN)
    audit = {p for m, p in routes(api.app) if p.startswith(("/audit", f"{PREFIX}/audit"))}
    assert {m for m, p in routes(api.app) if p in audit} == {"GET"}
    checked = 0
    for path in sorted(audit):
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method in CHANGING:
            answer = await api.http.request(method, url, headers=admin, json={"type": "forged"})
            assert answer.status_code in (404, 405), (method, path, answer.text)
            checked += 1
    print(f"audit paths: {len(audit)}, changing requests refused: {checked}")


async def test_the_database_refuses_to_change_or_remove_events(api):
    """The API's own connection (the application's role) may append an event but neither change
    nor remove one, nor lift the append-only triggers; the owner is stopped by the triggers of
    store/migrations/0001_event_store.sql (tests/security/test_least_privilege.py has the rest)."""
    pool = await api.app.state.resources.pool()
    stream = f"security-test/{uuid.uuid4().hex}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, "
            "payload, actor, occurred_at, prev_hash, hash) VALUES ($1, 1, $2, 'Probe', 1, '{}', "
            "'{}', now(), 'genesis', 'probe')", stream, uuid.uuid4().hex)
        for statement in ("UPDATE events SET type = 'Forged' WHERE stream_id = $1",
                          "DELETE FROM events WHERE stream_id = $1"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement, stream)
        for statement in ("TRUNCATE events",
                          "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete",
                          "SET session_replication_role = replica"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT type FROM events WHERE stream_id = $1", stream) == "Probe"
    owner = await asyncpg.connect(await owner_dsn(pool))
    try:
        for statement, words in (
                ("UPDATE events SET type = 'Forged' WHERE stream_id = $1", "append-only: UPDATE"),
                ("DELETE FROM events WHERE stream_id = $1", "append-only: DELETE")):
            with pytest.raises(asyncpg.RaiseError, match=words):
                await owner.execute(statement, stream)
        with pytest.raises(asyncpg.RaiseError, match="append-only: TRUNCATE"):
            await owner.execute("TRUNCATE events")
    finally:
        await owner.close()
