"""Tokens (issue 7, area 6): the presented secret is compared with the stored hash in constant
time, and the web pages' cookie session ends as soon as its token is revoked or expires.

The API side of revoked and expired tokens, and storage as a hash only, are proved in
tests/api/test_tokens.py; this module adds what that one does not cover.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import timedelta

import httpx
import pytest

from api.pages.session import COOKIE, csrf_value
from domain.actors import Role
from store import tokens

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]


async def test_the_secret_is_checked_against_the_stored_hash_with_compare_digest(api, monkeypatch):
    made = await tokens.create(api.pool, role=Role.AUDITOR, created_by="tests")
    stored = await api.pool.fetchval("SELECT secret_hash FROM api_tokens WHERE token_id = $1",
                                     made.info.token_id)
    secret = made.token.split("_", 2)[2]
    seen: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    me = await api.http.get("/me", headers={"Authorization": f"Bearer {made.token}"})
    assert me.status_code == 200, me.text
    assert (stored, hashlib.sha256(secret.encode()).hexdigest()) in seen

    seen.clear()
    forged = made.token[:-4] + ("AAAA" if not made.token.endswith("AAAA") else "BBBB")
    refused = await api.http.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert (stored, hashlib.sha256(forged.split("_", 2)[2].encode()).hexdigest()) in seen

    # An unknown id costs the same comparison, so timing does not tell which ids exist.
    seen.clear()
    unknown = f"rollout_{'0' * 12}_{secret}"
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {unknown}"})).status_code == 401
    assert len(seen) == 1

    # The comparison is the decision: no other equality test lets a token in or keeps it out.
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {made.token}"})).status_code == 401
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: True)
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {forged}"})).status_code == 200


def browser(api) -> httpx.AsyncClient:
    """A client of its own (its cookies stay out of the shared one), not following redirects."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app, raise_app_exceptions=False),
                             base_url="http://api", timeout=60)


async def signed_in(http: httpx.AsyncClient, token: str) -> dict[str, str]:
    login = await http.post("/web/login", data={"token": token})
    assert login.status_code == 303, login.text
    assert login.cookies.get(COOKIE) == token
    return {"Cookie": f"{COOKIE}={token}"}


async def assert_session_ended(http: httpx.AsyncClient, cookie: dict, words: str) -> None:
    page = await http.get("/web/inbox", headers=cookie)
    assert page.status_code == 303, f"the session outlived its token: GET /web/inbox {page.status_code}"
    assert page.headers["location"].startswith("/web/login") and "ended=1" in page.headers["location"]
    assert f'{COOKIE}=""' in page.headers["set-cookie"] or "Max-Age=0" in page.headers["set-cookie"]
    form = await http.post("/web/tasks/any-task", headers=cookie,
                           data={"csrf": csrf_value(cookie["Cookie"].split("=", 1)[1])})
    assert form.status_code == 401 and words in form.text, (
        f"the form was not refused for '{words}': {form.status_code}")


async def test_a_web_session_ends_when_its_token_is_revoked(api):
    made = await tokens.create(api.pool, role=Role.DISTRICT_COORDINATOR,
                               district="cedar-falls-sd", created_by="tests")
    async with browser(api) as http:
        cookie = await signed_in(http, made.token)
        assert (await http.get("/web/inbox", headers=cookie)).status_code == 200
        await tokens.revoke(api.pool, made.info.token_id)
        await assert_session_ended(http, cookie, "was revoked")
        again = await http.post("/web/login", data={"token": made.token})
        assert again.status_code == 401 and "was revoked" in again.text, again.status_code


async def test_a_web_session_ends_when_its_token_expires(api):
    made = await tokens.create(api.pool, role=Role.DISTRICT_COORDINATOR, district="cedar-falls-sd",
                               expires_in=timedelta(seconds=2), created_by="tests")
    async with browser(api) as http:
        cookie = await signed_in(http, made.token)
        assert (await http.get("/web/inbox", headers=cookie)).status_code == 200
        await asyncio.sleep(2.5)
        await assert_session_ended(http, cookie, "expired on")
