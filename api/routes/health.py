"""Liveness without a token: can the API reach PostgreSQL and Temporal right now?"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from api.auth import resources
from api.errors import DATABASE_DOWN, ApiError
from api.models import Health
from store.db import ping

router = APIRouter(tags=["health"])
CHECK_TIMEOUT = 5.0


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "PostgreSQL or Temporal is unreachable"}})
async def health(request: Request):
    """200 when both answer, 503 naming the one that does not. Needs no token."""
    database = await _check(_database(request))
    temporal = await _check(_temporal(request))
    ok = database == "ok" and temporal == "ok"
    body = Health(status="ok" if ok else "unavailable", database=database, temporal=temporal)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _database(request: Request) -> None:
    pool = await resources(request).pool()
    await ping(pool)


async def _temporal(request: Request) -> None:
    client = await resources(request).temporal()
    await client.service_client.check_health()


async def _check(probe) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except ApiError as problem:
        return problem.message
    except (*DATABASE_DOWN, asyncio.TimeoutError, RuntimeError, RPCError) as problem:
        return str(problem).splitlines()[0] if str(problem) else type(problem).__name__
    return "ok"
