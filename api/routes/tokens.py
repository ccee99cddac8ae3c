"""Who am I, and the state admin's management of tokens (the same as `rollout token ...`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.auth import Anyone, StateAdmin, resources
from api.errors import Invalid, NotFound, responses
from api.models import TokenRequest
from store import tokens
from store.tokens import NewToken, TokenInfo

router = APIRouter(tags=["tokens"])


@router.get("/me", response_model=TokenInfo, responses=responses(401, 503))
async def me(who: Anyone) -> TokenInfo:
    """The token you are using: its role, district and the actor recorded when you act."""
    return who


@router.get("/tokens", response_model=list[TokenInfo], responses=responses(401, 403, 422, 503))
async def list_tokens(request: Request, _: StateAdmin,
                      include_inactive: Annotated[bool, Query(description="also revoked and "
                                                              "expired tokens")] = False
                      ) -> list[TokenInfo]:
    """Every token (never a secret: the store has none)."""
    return await tokens.list_tokens(await resources(request).pool(),
                                    include_inactive=include_inactive)


@router.post("/tokens", response_model=NewToken, status_code=201,
             responses=responses(400, 401, 403, 413, 422, 503))
async def create_token(request: Request, who: StateAdmin, body: TokenRequest) -> NewToken:
    """A new token; the response is the only time its secret is shown."""
    try:
        tokens.check_request(body.role, body.district)
        created = await tokens.create(
            await resources(request).pool(), role=body.role, district=body.district,
            name=body.name, actor_id=body.actor_id,
            expires_in=timedelta(days=body.expires_in_days), created_by=who.actor_id)
    except ValueError as problem:
        raise Invalid(f"Invalid token request: {problem}.") from None
    return created


@router.post("/tokens/{token_id}/revoke", response_model=TokenInfo,
             responses=responses(401, 403, 404, 422, 503))
async def revoke_token(request: Request, _: StateAdmin,
                       token_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]) -> TokenInfo:
    """Revoke a token at once; revoking it again changes nothing."""
    revoked = await tokens.revoke(await resources(request).pool(), token_id)
    if revoked is None:
        raise NotFound(f"There is no token '{token_id}'.")
    return revoked

