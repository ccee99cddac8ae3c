"""Least privilege in PostgreSQL (issue 18, finding 5): the application's role appends to and
reads the events and can do nothing that would let it rewrite them; the schema belongs to
another role, which migrates; every connection of the local stack gives a password.

The rest of the suite runs the product through the application's role too (tests/conftest.py,
tests/workflows/harness.py), so "everything the product does still works" is every other test.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import asyncpg
import pytest

from devstack.local_stack import local_database
from devstack.postgres import CREDENTIALS
from store import privileges
from store.migrate import MIGRATIONS, MigrationsPending, migrate
from store.privileges import RoleError, grant_application
from tests.store.conftest import new_database

pytestmark = pytest.mark.postgres

EVENTS_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
FORBIDDEN = (
    "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_no_update_or_delete ON events",
    "SET session_replication_role = replica",
    "UPDATE events SET type = 'Forged'",
    "DELETE FROM events",
    "TRUNCATE events",
    "UPDATE streams SET stream_id = 'moved'",
    "DELETE FROM streams",
    "CREATE TABLE shadow (id int)",
    "CREATE FUNCTION rollout_noop() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "ALTER FUNCTION hold_appends() SECURITY INVOKER",
    "LOCK TABLE events IN ACCESS EXCLUSIVE MODE",
    "ALTER TABLE events ADD COLUMN note text",
    "COMMENT ON TABLE events IS 'mine'",
)


async def test_the_application_role_cannot_rewrite_the_record(database):
    pool, _ = database
    async with pool.acquire() as conn:
        role = await conn.fetchrow(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
            "FROM pg_roles WHERE rolname = current_user")
        assert not any(role[k] for k in ("rolsuper", "rolcreaterole", "rolcreatedb",
                                         "rolbypassrls", "rolreplication")), dict(role)
        owners = {r["tableowner"] for r in await conn.fetch(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert len(owners) == 1 and role["rolname"] not in owners
        assert not await conn.fetchval(
            "SELECT pg_has_role(current_user, tableowner, 'MEMBER') FROM pg_tables "
            "WHERE tablename = 'events'"), "not a member of the owner either"
        held = [p for p in EVENTS_PRIVILEGES
                if await conn.fetchval("SELECT has_table_privilege('events', $1)", p)]
        assert held == ["SELECT", "INSERT"]
        for statement in FORBIDDEN:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(statement)
                pytest.fail(f"the application's role may: {statement}")
        async with conn.transaction():  # GRANT does not fail, it grants nothing: a warning
            await conn.execute("GRANT UPDATE, DELETE, TRUNCATE, TRIGGER ON events TO PUBLIC")
        assert not await conn.fetchval("SELECT has_table_privilege('public', 'events', 'UPDATE')")
        async with conn.transaction():  # and what a rebuild needs, it still may
            await conn.execute("SELECT hold_appends()")
            assert await conn.fetchval(
                "SELECT mode FROM pg_locks WHERE relation = 'events'::regclass "
                "AND pid = pg_backend_pid() AND mode = 'ShareLock'") == "ShareLock"


async def test_the_owner_runs_the_migrations_and_grants_exactly_the_listed_privileges(postgres):
    async with new_database(postgres, migrated=False) as owner:
        app = (await owner.fetchval("SELECT current_database()")) + "_app"
        await migrate(owner, app_role=app)
        tables = {r["tablename"] for r in await owner.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables == set(privileges.TABLES), "every table has a decision in store/privileges.py"
        sequences = {r["relname"] for r in await owner.fetch(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND relkind = 'S' AND NOT EXISTS (SELECT FROM pg_depend d "
            "WHERE d.objid = c.oid AND d.deptype = 'i')")}
        assert sequences == set(privileges.SEQUENCES)
        granted = {(r["table_name"], r["privilege_type"]) for r in await owner.fetch(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = $1", app)}
        listed = {(table, name) for table, wanted in privileges.TABLES.items()
                  for name, columns in privileges.split(wanted) if not columns}
        assert granted == listed
        by_column = {(r["table_name"], r["privilege_type"], r["column_name"]) for r in await owner.fetch(
            "SELECT table_name, privilege_type, column_name FROM information_schema.column_privileges "
            "WHERE grantee = $1", app)}
        columns_of = {(r["table_name"], r["column_name"]) for r in await owner.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'")}
        listed_columns = {(table, name, column) for table, wanted in privileges.TABLES.items()
                          for name, columns in privileges.split(wanted)
                          if name in ("SELECT", "INSERT", "UPDATE", "REFERENCES")
                          for column in (columns or [c for t, c in columns_of if t == table])}
        assert by_column == listed_columns
        assert ("events", "UPDATE") not in granted and ("events", "TRIGGER") not in granted


async def test_the_application_role_applies_no_migration_and_says_who_must(postgres, tmp_path):
    """Where a migration is missing, the application's role is told to leave it to the owner;
    the owner refuses to grant a superuser, or itself, the application's privileges."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0999_later.sql").write_text("CREATE TABLE later (id int);\n")
    async with new_database(postgres) as app:
        assert await migrate(app) == [], "up to date: nothing to do, nothing refused"
        with pytest.raises(MigrationsPending, match="0999_later.sql.*run them as the schema's owner"):
            await migrate(app, folder)
        assert await app.fetchval("SELECT to_regclass('later')") is None
    async with new_database(postgres, migrated=False) as owner:
        me = await owner.fetchval("SELECT current_user")
        for wrong in ("postgres", me):
            with pytest.raises(RoleError):
                async with owner.acquire() as conn:
                    await grant_application(conn, wrong)


async def test_the_local_stack_asks_every_connection_for_a_password():
    """`rollout up`'s PostgreSQL (devstack/local_stack.py): roles made, passwords kept where only
    their owner reads them, no trust in pg_hba.conf, the application handed its own role."""
    var = Path(tempfile.mkdtemp(prefix="rollout-var-", dir="/tmp"))
    os.chmod(var, 0o755)  # the postgres user must reach its data directory inside
    try:
        with local_database(var) as app_dsn:
            data = var / "postgres"
            credentials = data / CREDENTIALS
            assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
            assert stat.S_IMODE(data.stat().st_mode) == 0o700
            hba = [line.split() for line in (data / "pg_hba.conf").read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
            assert hba and all(line[-1] == "scram-sha-256" for line in hba), hba
            port = int(app_dsn.rsplit(":", 1)[1].split("/")[0])
            for user in ("postgres", "rollout_owner", "rollout_app"):
                for host in ("127.0.0.1", str(data)):
                    with pytest.raises(asyncpg.InvalidPasswordError):
                        await asyncpg.connect(host=host, port=port, user=user, password="",
                                              database="rollout")
            conn = await asyncpg.connect(app_dsn)
            try:
                assert await conn.fetchval("SELECT current_user") == "rollout_app"
                assert not await conn.fetchval("SELECT rolsuper FROM pg_roles "
                                               "WHERE rolname = current_user")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("ALTER TABLE events DISABLE TRIGGER ALL")
                assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 9
            finally:
                await conn.close()
    finally:
        shutil.rmtree(var, ignore_errors=True)
