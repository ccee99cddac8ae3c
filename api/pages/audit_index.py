"""The audit's way in: every initiative and its sites, each leading to the site's audit timeline.

For state administrators and auditors, who read the whole state's record (as the API's initiative
audit); a coordinator reaches their district's sites from the board.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.auth import Principal
from api.pages.connections import pool_of
from api.pages.urls import site_url
from api.pages.rendering import PageProblem, render
from api.pages.session import viewer
from domain.actors import Role
from store import district_queries
from store.initiative_queries import initiatives_with_sites

router = APIRouter()
AUDIT_INDEX_ROLES = (Role.STATE_ADMIN, Role.AUDITOR)


@router.get("/audit")
async def audit_index(request: Request, who: Principal = Depends(viewer)):
    if who.role not in AUDIT_INDEX_ROLES:
        raise PageProblem(403, "The state's audit record is for state staff and auditors",
                          f"A {who.role.value.replace('_', ' ')} token reads its own district's "
                          "sites from the board and their pages.")
    pool = await pool_of(request)
    found = []
    for initiative in await initiatives_with_sites(pool, None):
        rows = await district_queries.initiative_sites(pool, initiative.initiative_id)
        found.append((initiative, [dict(r, url=site_url(r["initiative_id"], r["site_id"]))
                                   for r in rows]))
    return render(request, "audit_index.html", {"initiatives": found}, who=who)
