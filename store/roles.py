"""The event store's two PostgreSQL roles, as an administrator sets them up.

The *owner* owns the database and every table in it and runs the migrations; the *application*
(workers, API, CLI reads) logs in as another role that may append to `events` and read it, and
no more: not a superuser, not the owner, so it can neither disable the append-only triggers nor
`SET session_replication_role`, nor update, delete or truncate an event. What it may do on each
table is granted by the owner at each migration (store/privileges.py).

Run by a superuser (or a role with CREATEROLE): the local launcher (devstack/postgres.py) and the
test fixtures do; a deployment does the same once (deploy/compose/scripts/app-db-roles.sh).
Role names and passwords cannot be bind parameters in DDL, so each statement reads them from
transaction-local settings and quotes them with format(%I, %L) inside the server.
"""

from __future__ import annotations

import asyncpg

OWNER_ROLE = "rollout_owner"
APP_ROLE = "rollout_app"
"""The role names of the local stack (`rollout up`, the demo)."""

_ENSURE_LOGIN_ROLE = """
DO $$
DECLARE
    role_name text := current_setting('rollout.role');
    secret text := current_setting('rollout.password');
    verb text := CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = role_name)
                      THEN 'ALTER' ELSE 'CREATE' END;
BEGIN
    EXECUTE format('%s ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                   'NOBYPASSRLS INHERIT PASSWORD %L', verb, role_name, secret);
END $$"""

_SET_PASSWORD = """
DO $$
BEGIN
    EXECUTE format('ALTER ROLE %I WITH PASSWORD %L', current_setting('rollout.role'),
                   current_setting('rollout.password'));
END $$"""

_HAND_OVER_DATABASE = """
DO $$
DECLARE
    owner_role text := current_setting('rollout.owner');
    app_role text := current_setting('rollout.app');
    found record;
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), owner_role);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), owner_role);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), app_role);
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner_role);
    EXECUTE 'REVOKE ALL ON SCHEMA public FROM PUBLIC';
    -- A store migrated before the roles existed belongs to whoever migrated it: hand it over.
    FOR found IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> owner_role
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %I OWNER TO %I',
                       CASE found.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                            WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       found.relname, owner_role);
    END LOOP;
    FOR found IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> owner_role
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', found.signature, owner_role);
    END LOOP;
END $$"""


async def ensure_login_role(conn: asyncpg.Connection, role: str, password: str) -> None:
    """Create the role, or reset it: may log in with this password, and nothing else (no
    superuser, no CREATEDB, no CREATEROLE, no replication, no row-security bypass)."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('rollout.role', $1, true), "
                           "set_config('rollout.password', $2, true)", role, password)
        await conn.execute(_ENSURE_LOGIN_ROLE)


async def set_password(conn: asyncpg.Connection, role: str, password: str) -> None:
    """Give an existing role (the superuser of a cluster that trusted every local connection) a
    password, changing nothing else about it."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('rollout.role', $1, true), "
                           "set_config('rollout.password', $2, true)", role, password)
        await conn.execute(_SET_PASSWORD)


async def hand_over_database(conn: asyncpg.Connection, *, owner: str, app: str) -> None:
    """Make `owner` the owner of the connected database, its public schema and everything in it;
    only the owner and `app` may connect, and nobody else may create anything there."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('rollout.owner', $1, true), "
                           "set_config('rollout.app', $2, true)", owner, app)
        await conn.execute(_HAND_OVER_DATABASE)
