"""The web pages people use in a browser, served by the API under /web: login, a district's inbox
with its forms, each reader's notifications, the state's board, a site's page with its audit
timeline, the audit index.

`install(app)` adds them to the API application: the routers, the static files, and the handlers
that answer a missing session with the login page and a refusal with a readable page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.pages import audit_index, board, inbox, login, notifications, site, task_form
from api.pages.rendering import PageProblem, problem_page
from api.pages.session import PREFIX, LoginNeeded, end, login_url

STATIC = Path(__file__).resolve().parents[1] / "static"
ROUTERS = (login.router, inbox.router, task_form.router, board.router, site.router,
           audit_index.router, notifications.router)


def install(app: FastAPI) -> None:
    """Serve the pages from `app` (they are left out of the OpenAPI schema: they are not API)."""
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")

    @app.exception_handler(LoginNeeded)
    async def _login_needed(request: Request, needed: LoginNeeded):
        ended = bool(needed.message)
        if request.method == "GET":
            response = RedirectResponse(login_url(needed.back_to, ended=ended), status_code=303)
        else:
            response = problem_page(request, PageProblem(
                401, "Please sign in again", needed.message or "You are not signed in; sign in "
                "and submit the form again."))
        if ended:
            end(response, request)
        return response

    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, problem: PageProblem):
        return problem_page(request, problem)
