"""Who is asking: a bearer token, checked against its stored hash, gives a Principal with a role.

Roles (domain.actors.Role) and what they reach:
- state_admin: everything, in every district.
- district_coordinator: their district and its schools (sites.district_id), reads and writes.
- coach: the coaching work (tasks assigned to the coach role) at the sites of the district on
  their token, and the assessments a coach may submit there (fidelity).
- auditor: the audit endpoints, read-only, everywhere.
A role that may not use an endpoint at all gets 403. A resource outside the token's district gets
404, the same answer as one that does not exist, so nobody learns what another district holds.

`authenticate(request, token)` is the one check; `principal` reads the token from the
Authorization header. A cookie login (the web pages) calls `authenticate` with the cookie's token.
"""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Forbidden, Unauthorized
from api.resources import Resources
from domain.actors import PEOPLE_ROLES, Role
from store import tokens
from store.tokens import TokenInfo, TokenRefused

Principal = TokenInfo
bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A token from `rollout token create` (or POST /tokens): "
                                "`Authorization: Bearer rollout_<id>_<secret>`.")


def resources(request: Request) -> Resources:
    return request.app.state.resources


async def authenticate(request: Request, token: str) -> Principal:
    """The token's principal (also kept on request.state for the request log), or 401."""
    pool = await resources(request).pool()
    try:
        found = await tokens.authenticate(pool, token)
    except TokenRefused as refused:
        raise Unauthorized(str(refused)) from None
    request.state.principal = found
    return found


async def principal(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                    ) -> Principal:
    if credentials is None:
        raise Unauthorized("This endpoint needs a token: send 'Authorization: Bearer <token>' "
                           "(`rollout token create` makes one).")
    return await authenticate(request, credentials.credentials)


def allow(*roles: Role) -> Callable:
    """A dependency admitting only these roles; the others get 403 naming who may."""
    names = " or ".join(r.value.replace("_", " ") for r in roles)

    async def admitted(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in roles:
            role = who.role.value.replace("_", " ")
            raise Forbidden(f"{'An' if role[0] in 'aeiou' else 'A'} {role} token cannot use "
                            f"{request.method} {request.url.path}; it needs a "
                            f"{names} token.")
        return who
    return admitted


def district_of(who: Principal) -> str | None:
    """The district a principal is confined to; None for the whole state."""
    return who.district if who.role in tokens.DISTRICT_ROLES else None


def assignee_role_of(who: Principal) -> str | None:
    """Coaches see the coaching work only; the others every task in their scope."""
    return "coach" if who.role is Role.COACH else None


Anyone = Annotated[Principal, Depends(allow(*PEOPLE_ROLES))]
StateAdmin = Annotated[Principal, Depends(allow(Role.STATE_ADMIN))]
