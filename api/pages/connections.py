"""The API's connections, for pages: an outage becomes a 503 page saying which service is down."""

from __future__ import annotations

import asyncpg
from fastapi import Request
from temporalio.client import Client

from api.auth import resources
from api.errors import Unavailable
from api.pages.rendering import PageProblem
from domain.instrument_definitions import Catalogue


async def pool_of(request: Request) -> asyncpg.Pool:
    try:
        return await resources(request).pool()
    except Unavailable as down:
        raise PageProblem(503, "The event store is unavailable", down.message) from None


def instruments_of(request: Request) -> Catalogue:
    return resources(request).instruments


async def temporal_of(request: Request) -> Client:
    try:
        return await resources(request).temporal()
    except Unavailable as down:
        raise PageProblem(503, "Temporal is unavailable", down.message) from None
