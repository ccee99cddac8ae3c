"""The task inbox as people read it: tasks narrowed to a district (coordinators, coaches) and to
an assignee role (coaches see coaching work only), newest due date last."""

from __future__ import annotations

import asyncpg

TASK_COLUMNS = ("task_id, initiative_id, site_id, district_id, kind, title, stage, assignee_role, "
                "instrument, ref, due, status, reminded, overdue, escalated, escalated_to, "
                "assigned_at, completed_at, completed_by, assignee, escalated_at, waived_at, "
                "waived_by, waived_reason")
_SCOPE = "($1::text IS NULL OR district_id = $1) AND ($2::text IS NULL OR assignee_role = $2)"


async def tasks(pool: asyncpg.Pool, *, district: str | None = None,
                assignee_role: str | None = None, initiative_id: str | None = None,
                site_id: str | None = None, status: str | None = None, limit: int = 100,
                offset: int = 0) -> list[asyncpg.Record]:
    """Tasks within the scope, earliest due first; `None` filters match everything."""
    return await pool.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE {_SCOPE} "
        "AND ($3::text IS NULL OR initiative_id = $3) AND ($4::text IS NULL OR site_id = $4) "
        "AND ($5::text IS NULL OR status = $5) "
        "ORDER BY due, initiative_id, site_id, task_id LIMIT $6 OFFSET $7",
        district, assignee_role, initiative_id, site_id, status, limit, offset)


async def task(pool: asyncpg.Pool, task_id: str, *, district: str | None = None,
               assignee_role: str | None = None) -> asyncpg.Record | None:
    """One task, or None when it does not exist or lies outside the scope (callers cannot tell)."""
    return await pool.fetchrow(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE {_SCOPE} AND task_id = $3",
        district, assignee_role, task_id)
