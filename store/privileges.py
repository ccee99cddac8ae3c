"""What the application's role may do, table by table: exactly what the code under store/ does.

The owner grants these at the end of every migration run (store/migrate.py), after revoking
everything the role held, so the grants follow the schema as it grows: a table left out here is
one the application cannot touch, and tests/store/test_privileges.py fails until it is listed.

`events` may be read and appended to, never changed: no UPDATE, DELETE or TRUNCATE, no TRIGGER,
and, not being the owner, no ALTER TABLE (so no DISABLE TRIGGER). The one thing beyond that a
projection rebuild needs, a SHARE lock on `events` that holds appends back while a page replays,
is lent by the owner through the function `hold_appends()` (migration 0009).
"""

from __future__ import annotations

import json
import re

import asyncpg

TABLES: dict[str, str] = {
    # the record
    "events": "SELECT, INSERT",
    "streams": "SELECT, INSERT, UPDATE (version, last_hash, updated_at)",
    "schema_migrations": "SELECT",
    # read models: written by the live path, emptied and refilled by a rebuild
    "projection_checkpoints": "SELECT, UPDATE (position, state, rebuilt_at, rebuild_started_at)",
    "sites": "SELECT, INSERT, UPDATE, TRUNCATE",
    "tasks": "SELECT, INSERT, UPDATE, TRUNCATE",
    "driver_scores": "SELECT, INSERT, TRUNCATE",
    "fidelity_scores": "SELECT, INSERT, TRUNCATE",
    "site_stage_history": "SELECT, INSERT, UPDATE, TRUNCATE",
    "outbox": "SELECT, INSERT, UPDATE, TRUNCATE",
    "outbox_kept_delivery": "SELECT, INSERT, UPDATE, DELETE",
    "notification_feed": "SELECT, INSERT",
    # people's own read marks and team mail addresses: kept across rebuilds, not from events
    "notification_reads": "SELECT, INSERT",
    "notification_addresses": "SELECT, INSERT, UPDATE (email, updated_at, updated_by), DELETE",
    # PD bookings, API tokens (revoked, never deleted) and the API's request log
    "pd_bookings": "SELECT, INSERT",
    "api_tokens": "SELECT, INSERT, UPDATE (revoked_at)",
    "api_requests": "SELECT, INSERT",
}
SEQUENCES: dict[str, str] = {
    "api_requests_id_seq": "USAGE",
}
FUNCTIONS: dict[str, str] = {
    "hold_appends()": "EXECUTE",
}

_GRANT = """
DO $$
DECLARE
    app text := current_setting('rollout.app');
    wanted jsonb := current_setting('rollout.grants')::jsonb;
    item record;
BEGIN
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', app);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', app);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', app);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);
    FOR item IN SELECT key, value FROM jsonb_each_text(wanted -> 'tables') LOOP
        EXECUTE format('GRANT %s ON TABLE public.%I TO %I', item.value, item.key, app);
    END LOOP;
    FOR item IN SELECT key, value FROM jsonb_each_text(wanted -> 'sequences') LOOP
        EXECUTE format('GRANT %s ON SEQUENCE public.%I TO %I', item.value, item.key, app);
    END LOOP;
    FOR item IN SELECT key, value FROM jsonb_each_text(wanted -> 'functions') LOOP
        EXECUTE format('GRANT %s ON FUNCTION public.%s TO %I', item.value, item.key, app);
    END LOOP;
END $$"""


def split(privileges: str) -> list[tuple[str, tuple[str, ...]]]:
    """'SELECT, UPDATE (a, b)' -> [('SELECT', ()), ('UPDATE', ('a', 'b'))]."""
    return [(name, tuple(c.strip() for c in columns.split(",")) if columns else ())
            for name, columns in re.findall(r"([A-Z]+)(?:\s*\(([^)]*)\))?", privileges)]


class RoleError(ValueError):
    """The application's role would not be held to least privilege."""


async def grant_application(conn: asyncpg.Connection, app_role: str) -> None:
    """Revoke whatever `app_role` held in the schema and grant it exactly the lists above. Run
    by the owner, inside the migration's lock (concurrent GRANTs on one table collide)."""
    row = await conn.fetchrow(
        "SELECT current_user AS me, rolsuper AS superuser, "
        "pg_has_role(rolname, current_user, 'MEMBER') AS owner_too FROM pg_roles WHERE rolname = $1",
        app_role)
    if row is None:
        raise RoleError(f"the application's role {app_role!r} does not exist; create it first "
                        "(deploy/README.md, 'The event store')")
    if row["me"] == app_role:
        raise RoleError(f"migrations run as {app_role!r}, the application's own role: run them as "
                        "the schema's owner (ROLLOUT_MIGRATION_DATABASE_URL)")
    if row["superuser"] or row["owner_too"]:
        raise RoleError(f"the application's role {app_role!r} is "
                        f"{'a superuser' if row['superuser'] else 'a member of the owner ' + row['me']}:"
                        " it could bypass the append-only triggers; give the application a role "
                        "of its own")
    wanted = {"tables": TABLES, "sequences": SEQUENCES, "functions": FUNCTIONS}
    async with conn.transaction():
        await conn.execute("SELECT set_config('rollout.app', $1, true), "
                           "set_config('rollout.grants', $2, true)", app_role, json.dumps(wanted))
        await conn.execute(_GRANT)
