"""Rendering pages: one Jinja2 environment (autoescaped), the signed-in person on every page,
and refusals shown as a page with a heading and a way back, never as JSON or a traceback."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.auth import Principal
from api.pages.session import CSRF_FIELD, PREFIX, csrf_value, token_of
from domain.actors import Role

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
ROLE_NAMES = {Role.STATE_ADMIN: "state administrator",
              Role.DISTRICT_COORDINATOR: "district coordinator", Role.COACH: "coach",
              Role.AUDITOR: "auditor"}


class PageProblem(Exception):
    """A refusal to show as a page: 403 (role), 404 (absent or another district's), 409, 503."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def who_label(who: Principal) -> str:
    where = f", {who.district}" if who.district else ""
    return f"{who.actor_id} ({ROLE_NAMES.get(who.role, who.role.value)}{where})"


def render(request: Request, template: str, context: dict, *, who: Principal | None = None,
           status: int = 200) -> HTMLResponse:
    token = token_of(request)
    base = {"prefix": PREFIX, "who": who, "who_label": who_label(who) if who else "",
            "csrf_field": CSRF_FIELD, "csrf": csrf_value(token) if token and who else "",
            "Role": Role}
    return TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status)


def problem_page(request: Request, problem: PageProblem,
                 who: Principal | None = None) -> HTMLResponse:
    return render(request, "problem.html", {"title": problem.title, "message": problem.message},
                  who=who or getattr(request.state, "principal", None), status=problem.status)
