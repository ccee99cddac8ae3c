"""The one shape in which a refusal by the rules travels through Temporal.

A DomainError raised in an activity, an Update validator or workflow code reaches people as an
ApplicationError of type "DomainError": non-retryable (asking again gets the same answer), with
the domain's sentence as its message and `{"field", "value"}` as its details, which the API and
the CLI read to name the field (rollouts/task_actions.py). It lives here, below workflows/, so
activities and workflows build it alike.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from domain.errors import DomainError


def refusal(message: str, field: str | None, value: object) -> ApplicationError:
    """A refusal saying `message` about `field`, whose offending value travels as text."""
    return ApplicationError(message, {"field": field, "value": str(value)}, type="DomainError",
                            non_retryable=True)


def domain_refusal(error: DomainError) -> ApplicationError:
    """The refusal for a DomainError, with the field and value it names."""
    return refusal(error.message, error.field, error.value)
