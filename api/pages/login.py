"""The login and logout pages: paste a token, get a session cookie; sign out, lose it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from api.auth import Principal, authenticate
from api.errors import Unauthorized
from api.pages import session
from api.pages.rendering import render
from domain.actors import Role

router = APIRouter()


def home_for(who: Principal) -> str:
    """Where a person starts: their inbox if they have tasks, the board for state staff, the
    audit record for auditors."""
    if who.role in (Role.DISTRICT_COORDINATOR, Role.COACH):
        return f"{session.PREFIX}/inbox"
    if who.role is Role.AUDITOR:
        return f"{session.PREFIX}/audit"
    return f"{session.PREFIX}/board"


def _page(request: Request, back_to: str, *, error: str = "", notice: str = "", status: int = 200):
    return render(request, "login.html", {"next": session.safe_next(back_to), "error": error,
                                          "notice": notice}, status=status)


@router.get("/login")
async def login_page(request: Request, next: str = "", ended: str = ""):
    return _page(request, next, notice="Your session ended: the token was revoked or has expired. "
                 "Sign in again." if ended else "")


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    token, back_to = str(form.get("token", "")).strip(), str(form.get("next", ""))
    if not token:
        return _page(request, back_to, error="Paste your token to sign in.", status=401)
    try:
        who = await authenticate(request, token)
    except Unauthorized as refused:
        return _page(request, back_to, error=refused.message, status=401)
    response = RedirectResponse(session.safe_next(back_to) or home_for(who), status_code=303)
    session.start(response, request, token)
    return response


@router.post("/logout")
async def logout(request: Request):
    response = RedirectResponse(session.login_url(), status_code=303)
    session.end(response, request)
    return response


@router.get("/")
async def start_page(request: Request):
    who = await session.viewer(request)
    return RedirectResponse(home_for(who), status_code=303)
