"""Records every request that could change something (any method but GET, HEAD, OPTIONS) with
its actor and outcome, refused ones included, in `api_requests` (store/request_log.py).

An ASGI middleware, so it sees the final status of every answer, errors included. The principal
comes from the auth dependency through the request's state. A log that cannot be written (the
database is down: the request itself has then already answered 503) is logged, not raised.
"""

from __future__ import annotations

import structlog

from api.errors import DATABASE_DOWN, ApiError
from store import request_log
from store.request_log import LoggedRequest

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
log = structlog.get_logger("api")


class RequestLog:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 500

        async def capture(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await self._record(scope, state.get("principal"), status)

    async def _record(self, scope, who, status: int) -> None:
        entry = LoggedRequest(
            method=scope["method"], path=scope["path"], status=status,
            token_id=who.token_id if who else None, actor_id=who.actor_id if who else None,
            role=who.role.value if who else None, district=who.district if who else None)
        log.info("api change request", method=entry.method, path=entry.path, status=status,
                 actor=entry.actor_id, role=entry.role)
        try:
            pool = await scope["app"].state.resources.pool()
            await request_log.record(pool, entry)
        except (ApiError, *DATABASE_DOWN) as problem:
            log.warning("request not logged: the database cannot be reached",
                        method=entry.method, path=entry.path, error=str(problem))
