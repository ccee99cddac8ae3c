"""The state's board: sites per stage for each cohort and region, now and over time, as charts,
with every segment and every site leading to the sites it counts.

Counts come from the stage-history projection (store/board_queries.py), narrowed to a
coordinator's district as the API narrows its board; a site's column is the one `rollout board`
gives it (cli/board_command.py), so the page, the API and the command line agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from fastapi import APIRouter, Depends, Query, Request

from api.auth import Principal, district_of
from api.pages.charts import Bar, stacked_bars
from api.pages.connections import pool_of
from api.pages.rendering import PageProblem, render
from api.pages.session import viewer
from api.pages.urls import board_url, site_url
from domain.board import COLUMNS, column
from domain.actors import Role
from store import board_queries, district_queries
from store.board_queries import BoardCell
from store.initiative_queries import initiatives_with_sites

router = APIRouter()
OVER_TIME_POINTS = 8
BOARD_ROLES = (Role.STATE_ADMIN, Role.DISTRICT_COORDINATOR)
"""As the API's board: state administrators see the state, coordinators their district."""
ALL_COLUMNS = list(COLUMNS)


def _require_board_role(who: Principal) -> None:
    if who.role not in BOARD_ROLES:
        raise PageProblem(403, "The board is for state and district staff",
                          f"A {who.role.value.replace('_', ' ')} token cannot open the stage "
                          "board; it needs a state admin or district coordinator token.")


def _bars(cells: list[BoardCell], key, initiative_id: str, dimension: str | None) -> list[Bar]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for cell in cells:
        counts[key(cell)][column(cell.stage, cell.status)] += cell.sites
    return [Bar(label, dict(by_column), links={
        c: board_url(initiative_id, **({dimension: label} if dimension else {}), column=c)
        for c in by_column} if dimension else {})
        for label, by_column in sorted(counts.items())]


def _site_column(row) -> str:
    return column(row["stage"], row["status"])


@router.get("/board")
async def board_index(request: Request, who: Principal = Depends(viewer)):
    _require_board_role(who)
    found = await initiatives_with_sites(await pool_of(request), district_of(who))
    return render(request, "board_index.html", {"initiatives": found, "board_url": board_url},
                  who=who)


@router.get("/board/{initiative_id}")
async def board(initiative_id: str, request: Request, who: Principal = Depends(viewer),
                cohort: str = "", region: str = "",
                chosen: str = Query("", alias="column", description="a board column")):
    _require_board_role(who)
    pool, district = await pool_of(request), district_of(who)
    span = await board_queries.history_span(pool, initiative_id, district)
    if span is None:
        raise PageProblem(404, "No such board",
                          f"There is no stage board for initiative '{initiative_id}' that you "
                          "can see.")
    moments = board_queries.moments_between(*span, OVER_TIME_POINTS)

    async def cells_at(at):
        return await board_queries.board_at(pool, initiative_id, at, district)

    now, history = await cells_at([span[1]]), await cells_at(moments)
    by_cohort = _bars(now, lambda c: c.cohort_id, initiative_id, "cohort")
    by_region = _bars(now, lambda c: c.region, initiative_id, "region")
    days = {f"{m:%Y-%m-%d}" for m in moments}
    label = "%Y-%m-%d" if len(days) == len(moments) else "%Y-%m-%d %H:%M"  # times when days repeat
    over_time = _bars(history, lambda c: c.at.strftime(label), initiative_id, None)
    rows = await district_queries.initiative_sites(pool, initiative_id, district)
    sites = [dict(r, column=_site_column(r), url=site_url(initiative_id, r["site_id"]))
             for r in rows]
    shown = [s for s in sites if (not cohort or s["cohort_id"] == cohort)
             and (not region or s["region"] == region) and (not chosen or s["column"] == chosen)]
    scope = f"district {district}" if district else "the state"
    return render(request, "board.html", {
        "initiative_id": initiative_id, "scope": scope, "columns": ALL_COLUMNS,
        "charts": [
            ("by-cohort", "Sites per stage, by cohort", by_cohort,
             stacked_bars(f"Sites per stage by cohort, {scope}", by_cohort, ALL_COLUMNS,
                          chart_id="chart-cohort")),
            ("by-region", "Sites per stage, by region", by_region,
             stacked_bars(f"Sites per stage by region, {scope}", by_region, ALL_COLUMNS,
                          chart_id="chart-region")),
            ("over-time", "The board over time", over_time,
             stacked_bars(f"Sites per stage over time, {scope}", over_time, ALL_COLUMNS,
                          chart_id="chart-time")),
        ],
        "sites": shown, "total_sites": len(sites),
        "filters": {"cohort": cohort, "region": region, "column": chosen},
        "clear_url": board_url(initiative_id) + "#sites", "as_of": span[1]}, who=who)
