"""The API application: `uvicorn --factory api.app:create_app` (configuration from the ROLLOUT_*
variables, runtime/settings.py), or `create_app(settings)` from code and tests.

Start-up opens a PostgreSQL pool (migrating the store) and a Temporal client; either may be down
then and come up later (api/resources.py). OpenAPI at /openapi.json, interactive docs at /docs;
/health needs no token, everything else does (api/auth.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.limits import BodyLimit
from api.pages import install as install_pages
from api.request_log import RequestLog
from api.resources import Resources
from api.routes import (
    audit, board, health, imports, initiatives, notifications, sites, tasks, tokens,
)
from instrument_library import DefinitionsError
from runtime.settings import Settings, load_settings
from observability.logging import configure_logging

ROUTERS = (health.router, tokens.router, tasks.router, sites.router, initiatives.router,
           board.router, audit.router, imports.router, notifications.router)
DESCRIPTION = """Staged rollouts of evidence-based initiatives (SSIP Phase III).

Send `Authorization: Bearer <token>` with every request but `/health`; `rollout token create`
makes a token. Roles: **state_admin** (everything), **district_coordinator** (their district and
its schools), **coach** (coaching work in their district), **auditor** (audit reads). Another
district's task or site answers 404, like one that does not exist.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    if settings is None:
        try:
            settings = load_settings()
        except ValueError as problem:
            raise SystemExit(f"Invalid ROLLOUT_* settings: {problem}") from None
    configure_logging(settings.log_level)
    try:
        resources = Resources(settings)
    except DefinitionsError as problem:
        raise SystemExit(f"Cannot read the instrument definitions in ROLLOUT_INSTRUMENTS_DIR:\n"
                         f"{problem}") from None

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await resources.open()
        try:
            yield
        finally:
            await resources.close()

    app = FastAPI(title="Staged rollouts API", version="1", description=DESCRIPTION,
                  lifespan=lifespan, redoc_url=None)
    app.state.resources = resources
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestLog)  # outermost: it logs every answer, 413 included
    for router in ROUTERS:
        app.include_router(router)
    install_pages(app)  # the web pages under /web (api/pages)
    return app
