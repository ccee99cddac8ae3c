"""Refusals for Update requests that the domain's rules never see: a null request, a request
claiming the engine's own system role or actor id, a field the domain command would not accept
(a reason too short), a value the event store cannot hold (a NUL character, an outcome too large:
domain/storable.py), or a figure reported with a task that the rollout records only after the
task is closed (a PD session's attendees, a coaching step's practitioners observed). Validators
call these, so such a request is refused with one sentence naming the field and value before it
is accepted; otherwise the handler (or the coaching cycle) would fail its workflow task after the
completion was already recorded, or the recording activity would retry forever.

Validators do not run on replay, so tightening them changes no recorded history.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import reduce
from typing import Iterator

from pydantic import ValidationError

from activities.refusals import domain_refusal, refusal
from domain.actors import Role, reserved_actor_id
from domain.errors import DomainError, field_path, shown
from domain.storable import require_storable

FIGURES = {"hold_pd_session": ("attendees", "A PD session's attendance"),
           "coaching_step": ("practitioners_observed", "A coaching step's practitioners observed")}
MOST_PEOPLE = 10_000
"""The bound of RecordPdSessionHeld.attendees and CompleteCoachingCycle.practitioners_observed."""


def require_request(request: object, update: str) -> None:
    """A request is there, and comes from a person: the system role and the engine's actor ids
    (domain.actors.reserved_actor_id) are the engine's own, never ones an Update may claim."""
    if request is None:
        raise refusal(f"The {update} update needs a request; it was sent null.", "request", "null")
    actor = getattr(request, "actor", None)
    if actor is not None and actor.role is Role.SYSTEM:
        raise refusal(f"Updates come from people: '{actor.id}' claims the system role, which only "
                      "the engine itself acts in.", "actor.role", actor.role.value)
    if actor is not None and reserved_actor_id(actor.id):
        raise refusal(f"Updates come from people: the actor id '{actor.id}' is the engine's own "
                      "(as is every id starting 'rollout-'); act under your staff account.",
                      "actor.id", actor.id)


@contextmanager
def refusing_domain_errors() -> Iterator[None]:
    """A check of the domain's that refuses (a DomainError) refuses the Update, in its words."""
    try:
        yield
    except DomainError as refused:
        raise domain_refusal(refused) from None


@contextmanager
def refusing_invalid() -> Iterator[None]:
    """A domain command the request cannot become is refused with pydantic's first complaint."""
    try:
        yield
    except ValidationError as problem:
        error = problem.errors()[0]
        field = reduce(field_path, error["loc"], "") or "request"
        value = error.get("input")
        raise refusal(f"{field}: {error['msg'].removeprefix('Value error, ')} (got {shown(value)}).",
                      field, value) from None


def check_figures(task_kind: str, outcome: dict) -> None:
    """The figure a PD session or coaching step reports must be a count the record can hold: a
    whole number from 0 to 10,000 (a PD session also takes its digits as text, as a form sends
    them). A fraction (2.5, -0.5), a truth value (true) or an infinity is not a count: the
    completion would be recorded with it, and the rollout would read it as some other number."""
    if task_kind not in FIGURES:
        return
    name, what = FIGURES[task_kind]
    if name not in outcome:
        return
    value = outcome[name]
    if task_kind == "coaching_step" and isinstance(value, str):
        return  # the coaching cycle counts numbers only; text is kept as a note
    count = whole_number(value)
    if count is None or not 0 <= count <= MOST_PEOPLE:
        raise refusal(f"{what} must be a whole number from 0 to {MOST_PEOPLE:,}, not {shown(value)}.",
                      f"outcome.{name}", value)


def whole_number(value: object) -> int | None:
    """`value` as a count when it is one: an integer, a number without a fraction (3.0), or text
    of digits; None for anything else (true/false are not numbers, whatever Python says)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None  # False for NaN and infinities
    if isinstance(value, str):
        digits = value.strip()
        return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else None
    return None


def check_storable(request: object) -> None:
    """What the event store cannot hold (domain/storable.py: a NUL character, a non-finite number,
    an outcome too large) is refused here; accepted, the recording activity would retry it forever
    and the site would stop."""
    try:
        require_storable(request.model_dump(mode="python") if hasattr(request, "model_dump")
                         else request)
    except DomainError as refused:
        raise domain_refusal(refused) from None
