"""A cap on request bodies: an assessment is a few kilobytes, and a workflow Update cannot carry
more than 2 MB, so anything over 1 MB is refused at the door with 413 rather than later, deep in
Temporal, with a less helpful message."""

from __future__ import annotations

import json

MAX_BODY_BYTES = 1_000_000


class BodyLimit:
    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self._too_long(scope):
            body = json.dumps({"error": f"The request body is over {self.limit:,} bytes.",
                               "fields": []}).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _too_long(self, scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value) > self.limit
                except ValueError:
                    return False
        return False
