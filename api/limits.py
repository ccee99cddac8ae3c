"""A cap on request bodies: an assessment is a few kilobytes, and a workflow Update cannot carry
more than 2 MB, so anything over 1 MB is refused with 413 rather than later, deep in Temporal,
with a less helpful message.

The cap holds however the body is sent. A Content-Length over it is refused before a byte is
read; a body without one (chunked transfer encoding), or longer than its Content-Length says, is
counted as it arrives and refused the moment the count passes the cap, so the server never holds
more than the cap (plus one chunk) of it, nor spends time on the rest.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

MAX_BODY_BYTES = 1_000_000


class BodyTooLong(HTTPException):
    """Raised from `receive` as the body passes the cap. An HTTPException, so that the
    application's own handler answers it (FastAPI passes HTTPExceptions raised while it reads a
    body through, where it would turn any other error into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is over {limit:,} bytes.")


class BodyLimit:
    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared(scope) > self.limit:
            await self._refuse(send)
            return
        received, started = 0, False

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLong(self.limit)
            return message

        async def watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLong:
            if started:  # a handler that answered before reading its body: nothing more to say
                raise
            await self._refuse(send)

    def _declared(self, scope) -> int:
        """The Content-Length the client declared; -1 when there is none (or it is not a number:
        then the body is counted as it comes, like a chunked one)."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return -1
        return -1

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"The request body is over {self.limit:,} bytes.",
                           "fields": []}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
