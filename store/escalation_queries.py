"""The escalation queue as the state team reads it: open tasks escalated to the level above,
with their site's name and region, oldest escalation first.

Age is counted in school days, which SQL cannot count (the calendar is the plan's): the caller
turns "older than N school days" into the latest escalation date it admits for each initiative,
and the query keeps the tasks escalated on or before their initiative's date.
"""

from __future__ import annotations

from datetime import date

import asyncpg

_COLUMNS = ("t.task_id, t.initiative_id, t.site_id, t.district_id, t.kind, t.title, t.stage, "
            "t.assignee_role, t.instrument, t.ref, t.due, t.status, t.reminded, t.overdue, "
            "t.escalated, t.escalated_to, t.assigned_at, t.completed_at, t.completed_by, "
            "t.assignee, t.escalated_at, t.waived_at, t.waived_by, t.waived_reason")
"""The inbox's TASK_COLUMNS, each of the tasks table (the join with sites shares some names).
Written out, not derived, so the SQL stays a constant (tests/security/test_sql_parameters.py);
tests/store/test_escalation_queue.py checks the two lists name the same columns."""
_SCOPE = ("t.escalated AND t.status = 'open' "
          "AND ($1::text IS NULL OR t.district_id = $1) AND ($2::text IS NULL OR s.region = $2) "
          "AND ($3::text IS NULL OR t.kind = $3) AND ($4::text IS NULL OR t.initiative_id = $4) "
          "AND ($5::text IS NULL OR t.site_id = $5)")


async def escalated_initiatives(pool: asyncpg.Pool, *, district: str | None = None,
                                region: str | None = None, kind: str | None = None,
                                initiative_id: str | None = None,
                                site_id: str | None = None) -> list[str]:
    """The initiatives with escalated open tasks in the scope, by id."""
    rows = await pool.fetch(
        "SELECT DISTINCT t.initiative_id FROM tasks t JOIN sites s ON s.stream_id = t.stream_id "
        f"WHERE {_SCOPE} ORDER BY 1", district, region, kind, initiative_id, site_id)
    return [r["initiative_id"] for r in rows]


async def escalations(pool: asyncpg.Pool, *, district: str | None = None,
                      region: str | None = None, kind: str | None = None,
                      initiative_id: str | None = None, site_id: str | None = None,
                      escalated_by: dict[str, date] | None = None, limit: int = 100,
                      offset: int = 0) -> list[asyncpg.Record]:
    """Escalated open tasks in the scope (`None` filters match everything), oldest escalation
    first. `escalated_by`: initiative -> the latest (school) date of escalation to keep; an
    initiative missing from it keeps none."""
    cutoffs = escalated_by or {}
    return await pool.fetch(
        f"SELECT {_COLUMNS}, s.name AS site_name, s.region FROM tasks t "
        "JOIN sites s ON s.stream_id = t.stream_id "
        "LEFT JOIN unnest($6::text[], $7::date[]) AS c(initiative_id, escalated_by) "
        "ON c.initiative_id = t.initiative_id "
        f"WHERE {_SCOPE} AND (NOT $8::boolean OR "
        "(t.escalated_at AT TIME ZONE 'UTC')::date <= c.escalated_by) "
        "ORDER BY t.escalated_at NULLS FIRST, t.due, t.task_id LIMIT $9 OFFSET $10",
        district, region, kind, initiative_id, site_id, list(cutoffs), list(cutoffs.values()),
        escalated_by is not None, limit, offset)
