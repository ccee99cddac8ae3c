"""Who acts: staff accounts with a role, and the system itself."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.errors import DomainError


class Role(StrEnum):
    STATE_ADMIN = "state_admin"
    DISTRICT_COORDINATOR = "district_coordinator"
    COACH = "coach"
    AUDITOR = "auditor"
    SYSTEM = "system"


PEOPLE_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
"""The roles a person may hold (a token, an Update): every role but the engine's own."""

PersonRole = Annotated[Literal[tuple(r.value for r in PEOPLE_ROLES)], AfterValidator(Role)]
"""A field holding one of PEOPLE_ROLES: its schema and refusals list just those names, and its
value is read as a Role."""


class Actor(BaseModel):
    """A staff account (never a student) or the engine itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    role: Role
    district: str | None = Field(default=None, description="the district a coordinator serves")

    def may_act_for(self, district: str | None) -> bool:
        """State staff and the system act anywhere; a coordinator only in their own district."""
        if self.role in (Role.STATE_ADMIN, Role.SYSTEM):
            return True
        if self.role is Role.DISTRICT_COORDINATOR:
            return self.district is not None and self.district == district
        return self.role is Role.COACH


SYSTEM = Actor(id="rollout-engine", role=Role.SYSTEM)
RESERVED_PREFIX = "rollout-"
"""The engine's own names: its actor id (rollout-engine) and its processes' identities
(rollout-worker). No person's token or request may act under one, or the record would show the
engine doing what a person did."""


def reserved_actor_id(actor_id: str) -> bool:
    """True for an id the engine keeps for itself: SYSTEM's, or any in its `rollout-` namespace,
    compared as a reader would see it (case, surrounding spaces and look-alike forms such as
    full-width letters do not make it another id)."""
    seen = unicodedata.normalize("NFKC", actor_id).strip().casefold()
    return seen == SYSTEM.id or seen.startswith(RESERVED_PREFIX)


def require_state_admin(actor: Actor, doing: str) -> None:
    """Opening a cohort and pausing, resuming or cancelling a rollout are the state's calls."""
    if actor.role is not Role.STATE_ADMIN:
        raise DomainError(f"Only a state admin may {doing}; {actor.id} is a {actor.role.value}.",
                          field="actor.role", value=actor.role.value)
