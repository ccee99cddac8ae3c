"""Each reader's notifications: unread first, marked read one at a time or all at once.

A notification is addressed to a team (store/projections/notifications.py); a reader sees their
team's (store/notification_queries.py): a state admin the state team's (any team's with `team`),
a district coordinator their district's, a coach those for the coaches of their district's sites.
Read state is the reader's own. Another district's notification answers 404, like a missing one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import Principal, allow, resources
from api.errors import NotFound, responses
from api.models import SLUG, TEXT_ID
from domain.actors import Role
from store import notification_queries
from store.notification_queries import Audience, audience_of

router = APIRouter(tags=["notifications"])
Reader = Annotated[Principal, Depends(allow(
    Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR, Role.COACH))]
NotificationId = Annotated[str, Path(pattern=TEXT_ID, max_length=300,
                                     description="the notification's id")]
TEAM = r"^(state-team|(district|coach):[a-z0-9]+(-[a-z0-9]+)*)$"


class Links(BaseModel):
    site: str | None = Field(None, description="the site's status (GET)")
    task: str | None = Field(None, description="the task (GET), when the notification is about one")


class Notification(BaseModel):
    notification_id: str
    recipient: str = Field(description="the team it is addressed to: state-team, "
                                       "district:<district id> or coach:<site id>")
    subject: str
    body: str
    delivered_at: datetime
    read: bool
    read_at: datetime | None = Field(description="when you marked it read (yours alone)")
    initiative_id: str | None
    site_id: str | None
    site_name: str | None
    task_id: str | None
    links: Links


class NotificationPage(BaseModel):
    notifications: list[Notification]
    unread: int = Field(description="your unread notifications under the same filters")
    limit: int
    offset: int


class MarkedRead(BaseModel):
    marked: int = Field(description="notifications that were unread and now are read")
    unread: int


def reader_of(who: Principal) -> str:
    """The reader a read state belongs to: the person the token names."""
    return who.actor_id


def audience(who: Principal, team: str | None = None, *, whole_state: bool = False) -> Audience:
    return audience_of(who.role, who.district, team, whole_state=whole_state)


def as_notification(row) -> Notification:
    site = f"/sites/{row['initiative_id']}/{row['site_id']}" if row["site_id"] else None
    task = f"/tasks/{row['task_id']}" if row["task_id"] else None
    return Notification(
        notification_id=row["notification_id"], recipient=row["recipient"],
        subject=row["subject"], body=row["body"], delivered_at=row["delivered_at"],
        read=row["read_at"] is not None, read_at=row["read_at"],
        initiative_id=row["initiative_id"], site_id=row["site_id"], site_name=row["site_name"],
        task_id=row["task_id"], links=Links(site=site, task=task))


Team = Annotated[str | None, Query(pattern=TEAM, max_length=80, description=(
    "only this team's notifications; a state admin may name any team (what a district was told)"))]
Site = Annotated[str | None, Query(pattern=SLUG, max_length=64, description="only this site's")]
Initiative = Annotated[str | None, Query(pattern=SLUG, max_length=64)]


@router.get("/notifications", response_model=NotificationPage,
            responses=responses(401, 403, 422, 503))
async def list_notifications(
    request: Request, who: Reader, team: Team = None, site: Site = None,
    initiative: Initiative = None,
    unread: Annotated[bool, Query(description="only those you have not read")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NotificationPage:
    """Your notifications: unread first, newest first within each."""
    pool = await resources(request).pool()
    scope, reader = audience(who, team), reader_of(who)
    filters = dict(team=team, site=site, initiative=initiative)
    rows = await notification_queries.notifications(
        pool, scope, reader, unread_only=unread, limit=limit, offset=offset, **filters)
    return NotificationPage(notifications=[as_notification(r) for r in rows],
                            unread=await notification_queries.unread_count(
                                pool, scope, reader, **filters),
                            limit=limit, offset=offset)


@router.post("/notifications/read", response_model=MarkedRead,
             responses=responses(401, 403, 422, 503))
async def mark_all_read(request: Request, who: Reader, team: Team = None, site: Site = None,
                        initiative: Initiative = None) -> MarkedRead:
    """Mark every notification of yours delivered until now as read (for you alone); a filter
    narrows which."""
    pool = await resources(request).pool()
    scope, reader = audience(who, team), reader_of(who)
    filters = dict(team=team, site=site, initiative=initiative)
    marked = await notification_queries.mark_all_read(
        pool, scope, reader, datetime.now(timezone.utc), **filters)
    return MarkedRead(marked=marked, unread=await notification_queries.unread_count(
        pool, scope, reader, **filters))


@router.get("/notifications/{notification_id}", response_model=Notification,
            responses=responses(401, 403, 404, 422, 503))
async def get_notification(request: Request, who: Reader,
                           notification_id: NotificationId) -> Notification:
    """One notification of yours."""
    pool = await resources(request).pool()
    row = await notification_queries.notification(
        pool, audience(who, whole_state=True), reader_of(who), notification_id)
    if row is None:
        raise NotFound(f"There is no notification '{notification_id}'.")
    return as_notification(row)


@router.post("/notifications/{notification_id}/read", response_model=Notification,
             responses=responses(401, 403, 404, 422, 503))
async def mark_read(request: Request, who: Reader,
                    notification_id: NotificationId) -> Notification:
    """Mark one notification read, for you alone (marking it again changes nothing)."""
    pool = await resources(request).pool()
    row = await notification_queries.mark_read(
        pool, audience(who, whole_state=True), reader_of(who), notification_id,
        datetime.now(timezone.utc))
    if row is None:
        raise NotFound(f"There is no notification '{notification_id}'.")
    return as_notification(row)
