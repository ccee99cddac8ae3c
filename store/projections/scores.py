"""Driver and fidelity scores over time, per site: counts and shares, never names."""

from __future__ import annotations

import asyncpg

from domain.instruments import Instrument
from store.projections.registry import Recorded, on


@on("scores", "AssessmentSubmitted")
async def _capacity_scores(conn: asyncpg.Connection, r: Recorded) -> None:
    p = r.event.payload
    if p.score.instrument is not Instrument.CAPACITY:
        return
    scores = [(driver.value, percent) for driver, percent in p.score.per_driver.items()]
    scores.append(("overall", p.score.percent))
    await conn.executemany(
        "INSERT INTO driver_scores (stream_id, assessment_id, driver, percent, stage, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(r.event.stream_id, p.assessment_id, driver, percent, p.stage.value, r.event.occurred_at)
         for driver, percent in scores])


@on("scores", "FidelityAssessed")
async def _fidelity_scores(conn: asyncpg.Connection, r: Recorded) -> None:
    p = r.event.payload
    await conn.execute(
        "INSERT INTO fidelity_scores (stream_id, assessment_id, stage, percent, assessed, meeting, "
        "occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        r.event.stream_id, p.assessment_id, p.stage.value, p.percent, p.practitioners_assessed,
        p.practitioners_meeting, r.event.occurred_at)
