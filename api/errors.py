"""Every failure the API can answer with, as one JSON shape: `{"error": sentence, "fields": [...]}`.

- 401 no usable token, 403 the role may not use this endpoint (or a rule about who acts refused),
  404 not found, which is also the answer for another district's resource, so the two cannot be
  told apart;
- 409 the rollout has finished, or the task is already completed; 422 bad input (pydantic's
  errors with their field paths) or a workflow's refusal (its one sentence, from
  rollouts/refusals.py);
- 503 PostgreSQL or Temporal cannot be reached. Nothing answers with a traceback.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from rollouts.task_actions import ActionFailed

log = structlog.get_logger("api")


class FieldProblem(BaseModel):
    path: str = Field(description="where in the request, e.g. body.assessment.items.0.score")
    message: str
    value: str | None = None


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, in one sentence")
    fields: list[FieldProblem] = Field(default_factory=list)


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, fields: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields or []


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Invalid(ApiError):
    status = 422


class Unavailable(ApiError):
    status = 503


ACTION_STATUS = {"invalid": Invalid, "forbidden": Forbidden, "finished": Conflict,
                 "unavailable": Unavailable}
DATABASE_DOWN = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                 asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


def from_action(failure: ActionFailed) -> ApiError:
    fields = [FieldProblem(path=failure.field, message=failure.message, value=failure.value)] \
        if failure.field else []
    return ACTION_STATUS[failure.kind](failure.message, fields)


def responses(*statuses: int) -> dict[int, dict]:
    """OpenAPI documentation of the error answers an endpoint can give."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "No token, or a token that is unknown, expired or revoked",
    403: "The token's role may not do this",
    404: "Not found (also the answer for another district's resource)",
    409: "The rollout has finished, or the task is already completed",
    413: "The body is over 1 MB",
    422: "Invalid input, or refused by the rollout's rules",
    503: "PostgreSQL or Temporal cannot be reached",
}


def _body(status: int, message: str, fields: list[FieldProblem] | None = None,
          headers: dict | None = None) -> JSONResponse:
    content = ErrorBody(error=message, fields=fields or []).model_dump(mode="json")
    return JSONResponse(content, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into an ErrorBody."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return _body(error.status, error.message, error.fields, headers)

    @app.exception_handler(ActionFailed)
    async def _action_failed(request: Request, failure: ActionFailed) -> JSONResponse:
        return await _api_error(request, from_action(failure))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = [FieldProblem(path=".".join(str(p) for p in e["loc"]),
                               message=e["msg"].removeprefix("Value error, "),
                               value=_shown(e.get("input"))) for e in error.errors()]
        first = fields[0] if fields else None
        message = (f"Invalid request: {first.path}: {first.message}"
                   + (f" (got {first.value!r})" if first.value is not None else "") if first
                   else "Invalid request.")
        if len(fields) > 1:
            message += f" (and {len(fields) - 1} more)"
        return _body(422, message, fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        message = error.detail if isinstance(error.detail, str) else "Request refused."
        if error.status_code == 404 and message == "Not Found":
            message = "There is no such endpoint; see /docs for the ones there are."
        elif error.status_code == 400 and "parsing the body" in message:
            message = "The request body is not valid JSON."
        return _body(error.status_code, message, headers=getattr(error, "headers", None))

    @app.exception_handler(asyncpg.DataError)
    async def _unreadable(_: Request, problem: asyncpg.DataError) -> JSONResponse:
        return _body(422, f"A value in the request cannot be stored or compared: {problem}")

    for problem in DATABASE_DOWN:
        app.add_exception_handler(problem, _database_down)
    app.add_exception_handler(RPCError, _temporal_down)
    app.add_exception_handler(Exception, _unexpected)


async def _database_down(_: Request, problem: Exception) -> JSONResponse:
    log.warning("database unreachable", error=str(problem) or type(problem).__name__)
    return _body(503, "The event store (PostgreSQL) cannot be reached; try again shortly.")


async def _temporal_down(_: Request, problem: RPCError) -> JSONResponse:
    log.warning("temporal call failed", error=problem.message, status=str(problem.status))
    return _body(503, f"Temporal cannot be reached: {problem.message}")


async def _unexpected(request: Request, problem: Exception) -> JSONResponse:
    log.error("unexpected error", path=request.url.path, error=repr(problem), exc_info=problem)
    return _body(500, "The server failed unexpectedly; the error has been logged.")


def _shown(value) -> str | None:
    """The offending value, short, for the reader (never more than 200 characters)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."
