"""A reader's notifications page: unread first, each linked to the site and the task it concerns,
marked read one at a time or all at once (for this reader alone), POST/redirect/GET.

Whose notifications these are is decided as the API decides it (api/routes/notifications.py): a
state admin sees the state team's and may look at any one team's (`?team=district:<id>`).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from api.auth import Principal
from api.pages.connections import pool_of
from api.pages.rendering import PageProblem, render
from api.pages.session import CSRF_FIELD, PREFIX, csrf_ok, viewer
from api.pages.site import STATUS_ROLES
from api.pages.urls import inbox_url, site_url
from api.routes.notifications import TEAM, audience, reader_of
from domain.actors import Role
from store import notification_queries
from store.projections.notifications import STATE_TEAM_RECIPIENT

router = APIRouter()
PAGE_LIMIT = 200
READERS = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH)


def notifications_url(team: str | None = None) -> str:
    return f"{PREFIX}/notifications" + (f"?{urlencode({'team': team})}" if team else "")


def task_link(task_id: str) -> str:
    """The task's card in the inbox (its anchor as api/pages/inbox.py names it)."""
    return inbox_url() + "#task-" + "".join(c if c.isalnum() else "-" for c in task_id)


def _reader(who: Principal) -> None:
    if who.role not in READERS:
        raise PageProblem(403, "No notifications for this role",
                          "An auditor's token reads the audit record; notifications go to the "
                          "state, district and coaching teams.")


def _team(request: Request, who: Principal) -> str | None:
    """The team asked for: only a state admin may look at another team's notifications."""
    team = request.query_params.get("team") or None
    if team is None or who.role is not Role.STATE_ADMIN:
        return None
    if not re.fullmatch(TEAM, team):
        raise PageProblem(404, "No such team", f"There is no team '{team}': teams are "
                          f"'{STATE_TEAM_RECIPIENT}', 'district:<district id>' and "
                          "'coach:<site id>'.")
    return team


@router.get("/notifications")
async def notifications_page(request: Request, who: Principal = Depends(viewer),
                             marked: str = ""):
    _reader(who)
    team = _team(request, who)
    pool = await pool_of(request)
    scope, reader = audience(who, team), reader_of(who)
    rows = await notification_queries.notifications(pool, scope, reader, team=team,
                                                    limit=PAGE_LIMIT)
    unread = await notification_queries.unread_count(pool, scope, reader, team=team)
    notice = {"one": "Marked as read.", "all": "Every notification is marked as read."}.get(marked, "")
    return render(request, "notifications.html", {
        "rows": rows, "unread": unread, "team": team, "limit": PAGE_LIMIT, "notice": notice,
        "site_url": site_url if who.role in STATUS_ROLES else None, "task_link": task_link,
        "back": notifications_url(team), "read_url": _read_url,
        "read_all_url": f"{PREFIX}/notifications/read" + (
            f"?{urlencode({'team': team})}" if team else "")}, who=who)


def _read_url(notification_id: str, team: str | None) -> str:
    url = f"{PREFIX}/notifications/{quote(notification_id, safe='')}/read"
    return url + (f"?{urlencode({'team': team})}" if team else "")


async def _posted(request: Request, who: Principal) -> None:
    posted = await request.form()
    if not csrf_ok(request, posted.get(CSRF_FIELD)):
        raise PageProblem(403, "The form has expired",
                          "This form was not sent from your current session; open your "
                          "notifications again and resubmit.")
    _reader(who)


@router.post("/notifications/read")
async def mark_all(request: Request, who: Principal = Depends(viewer)):
    await _posted(request, who)
    team = _team(request, who)
    await notification_queries.mark_all_read(
        await pool_of(request), audience(who, team), reader_of(who), datetime.now(timezone.utc),
        team=team)
    return RedirectResponse(_back(team, "all"), status_code=303)


@router.post("/notifications/{notification_id}/read")
async def mark_one(notification_id: str, request: Request, who: Principal = Depends(viewer)):
    await _posted(request, who)
    team = _team(request, who)
    row = await notification_queries.mark_read(
        await pool_of(request), audience(who, whole_state=True), reader_of(who), notification_id,
        datetime.now(timezone.utc))
    if row is None:
        raise PageProblem(404, "No such notification",
                          f"There is no notification '{notification_id}' for you.")
    return RedirectResponse(_back(team, "one"), status_code=303)


def _back(team: str | None, marked: str) -> str:
    return f"{PREFIX}/notifications?" + urlencode({**({"team": team} if team else {}),
                                                    "marked": marked})
