"""Tokens: made by `rollout token create` (or POST /tokens), kept only as a hash, refused once
expired or revoked, and needed by every endpoint but /health."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from domain.actors import Role
from store import tokens
from tests.api.test_authorization_matrix import api_routes

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

runner = CliRunner()


def rollout(*args: str):
    """`rollout ...` in a thread (the command runs its own event loop)."""
    return asyncio.to_thread(runner.invoke, cli, list(args), env={"COLUMNS": "200"})


async def table_text(pool, table: str) -> str:
    rows = await pool.fetch(f"SELECT row_to_json(t)::text AS row FROM {table} t")
    return "\n".join(r["row"] for r in rows)


async def test_cli_token_is_shown_once_and_stored_only_as_a_hash(api, api_database):
    pool, dsn = api_database
    made = await rollout("token", "create", "--role", "district_coordinator", "--district",
                         "cedar-falls-sd", "--name", "Ann Adams", "--actor", "ann.adams",
                         "--expires-in", "30", "--database-url", dsn, "--json")
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    token = created["token"]
    token_id, secret = re.fullmatch(r"rollout_([0-9a-f]{12})_(.+)", token).groups()
    assert created["token_id"] == token_id and created["district"] == "cedar-falls-sd"

    me = await api.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert (me.json()["role"], me.json()["district"], me.json()["actor_id"]) == (
        "district_coordinator", "cedar-falls-sd", "ann.adams")

    stored = await table_text(pool, "api_tokens")
    assert token_id in stored
    assert secret not in stored and token not in stored
    row = await pool.fetchrow("SELECT secret_hash FROM api_tokens WHERE token_id = $1", token_id)
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    listed = await rollout("token", "list", "--database-url", dsn, "--json")
    assert token_id in listed.output and secret not in listed.output
    assert secret not in await table_text(pool, "api_requests")

    revoked = await rollout("token", "revoke", token_id, "--database-url", dsn)
    assert revoked.exit_code == 0 and f"Revoked token {token_id}" in revoked.output
    me = await api.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    assert me.json()["error"].startswith(f"Token {token_id} was revoked on ")
    again = await rollout("token", "revoke", token_id, "--database-url", dsn)
    assert again.exit_code == 0


async def test_cli_refuses_bad_token_requests_in_one_line(api_database):
    _, dsn = api_database
    for args, words in (
            (["--role", "coach"], "district is required for a coach token"),
            (["--role", "state_admin", "--district", "cedar-falls-sd"], "district is only for"),
            (["--role", "district_coordinator", "--district", "Not A Slug"], "district must be a site id"),
            (["--role", "pharaoh"], "--role"),
            (["--role", "auditor", "--expires-in", "0"], "--expires-in")):
        result = await rollout("token", "create", *args, "--database-url", dsn)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "Traceback" not in result.output
    unknown = await rollout("token", "revoke", "0123456789ab", "--database-url", dsn)
    assert unknown.exit_code == 1 and "There is no token '0123456789ab'" in unknown.output


async def test_an_expired_token_is_refused(api):
    short = await tokens.create(api.pool, role=Role.AUDITOR, expires_in=timedelta(seconds=1),
                                created_by="tests")
    headers = {"Authorization": f"Bearer {short.token}"}
    assert (await api.http.get("/me", headers=headers)).status_code == 200
    await asyncio.sleep(1.5)
    answer = await api.http.get("/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"].startswith(f"Token {short.info.token_id} expired on ")
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_wrong_and_malformed_tokens_are_refused(api):
    real = await tokens.create(api.pool, role=Role.STATE_ADMIN, created_by="tests")
    forged = real.token[:-4] + ("AAAA" if not real.token.endswith("AAAA") else "BBBB")
    for header, words in (
            ({}, "needs a token"),
            ({"Authorization": f"Bearer {forged}"}, "not valid"),
            ({"Authorization": "Bearer rollout_nothex_secret"}, "not valid"),
            ({"Authorization": f"Basic {real.token}"}, "needs a token")):
        answer = await api.http.get("/tasks", headers=header)
        assert answer.status_code == 401, (header, answer.text)
        assert words in answer.json()["error"]


async def test_no_endpoint_answers_without_a_valid_token_but_health(api):
    revoked = await tokens.create(api.pool, role=Role.STATE_ADMIN, created_by="tests")
    await tokens.revoke(api.pool, revoked.info.token_id)
    routes, _ = api_routes(api.app)
    assert len(routes) >= 15
    for headers in ({}, {"Authorization": f"Bearer {revoked.token}"}):
        for method, path in routes:
            url = re.sub(r"\{[^}]+\}", "x", path)
            answer = await api.http.request(method, url, headers=headers, json={})
            expected = 200 if path == "/health" else 401
            assert answer.status_code == expected, (method, path, answer.text)


async def test_a_state_admin_manages_tokens_over_the_api(api):
    admin = {"Authorization": f"Bearer {(await tokens.create(api.pool, role=Role.STATE_ADMIN, created_by='tests')).token}"}
    made = await api.http.post("/tokens", headers=admin, json={
        "role": "coach", "district": "prairie-ridge-sd", "expires_in_days": 7})
    assert made.status_code == 201, made.text
    token, info = made.json()["token"], made.json()["info"]
    assert info["actor_id"] == "coach.prairie-ridge-sd" and info["created_by"].startswith("state_admin.")
    listed = await api.http.get("/tokens", headers=admin)
    assert info["token_id"] in listed.text and token.rsplit("_", 1)[1] not in listed.text
    coach = {"Authorization": f"Bearer {token}"}
    assert (await api.http.get("/me", headers=coach)).status_code == 200
    bad = await api.http.post("/tokens", headers=admin, json={"role": "coach"})
    assert bad.status_code == 422 and "district is required" in bad.json()["error"]
    assert (await api.http.post(f"/tokens/{info['token_id']}/revoke", headers=admin)).status_code == 200
    assert (await api.http.get("/me", headers=coach)).status_code == 401
