"""Signing in to the web pages: the person pastes their API token once; it is kept in a cookie.

The cookie holds the token itself, HttpOnly (no script reads it), SameSite=Strict (no other site
can make the browser send it) and Secure over HTTPS, scoped to the pages' path. Every page checks
it with the API's own `authenticate`, so a revoked or expired token ends the session at once and
the request log records the same principal the API would. The token never appears in a URL, a
page or a log line. Forms also carry a value derived from the token (CSRF_FIELD), which another
site cannot know, as a second guard on every change.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from api.auth import Principal, authenticate
from api.errors import Unauthorized

PREFIX = "/web"
COOKIE = "rollout_session"
CSRF_FIELD = "csrf"
SESSION_SECONDS = 8 * 3600
"""A working day; the token's own expiry and revocation still apply within it."""


class LoginNeeded(Exception):
    """No usable session: the handler sends the browser to the login page."""

    def __init__(self, back_to: str, message: str = "") -> None:
        super().__init__(message)
        self.back_to, self.message = back_to, message


def token_of(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


async def viewer(request: Request) -> Principal:
    """The signed-in person (a FastAPI dependency for every page but the login page)."""
    token = token_of(request)
    if token is None:
        raise LoginNeeded(request.url.path)
    try:
        return await authenticate(request, token)
    except Unauthorized as refused:
        raise LoginNeeded(request.url.path, refused.message) from None


def csrf_value(token: str) -> str:
    return hmac.new(token.encode(), b"rollout web form", hashlib.sha256).hexdigest()[:32]


def csrf_ok(request: Request, posted: str | None) -> bool:
    token = token_of(request)
    return bool(token and posted) and hmac.compare_digest(csrf_value(token), posted)


def start(response: Response, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=SESSION_SECONDS, path=PREFIX, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def end(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def safe_next(back_to: str) -> str:
    """`back_to` when it is one of our pages, else "": a login never sends anyone elsewhere."""
    return back_to if back_to.startswith(PREFIX + "/") and "//" not in back_to \
        and "\\" not in back_to else ""


def login_url(back_to: str = "", *, ended: bool = False) -> str:
    """The login page; `ended` says a session's token stopped working (revoked or expired)."""
    query = [f"next={quote(safe)}"] if (safe := safe_next(back_to)) else []
    query += ["ended=1"] if ended else []
    return f"{PREFIX}/login" + ("?" + "&".join(query) if query else "")
