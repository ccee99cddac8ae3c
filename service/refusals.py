"""Turning a refused Update into the sentence a person should read.

A validator's refusal carries the domain's message (and the field and value it concerns). Input
that does not even decode into the request model is refused by the SDK as "Failed decoding
arguments", with pydantic's explanation, which names the field and the bad value, as its cause.
"""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import FailureError

DECODING = "Failed decoding arguments"


def explain_refusal(error: WorkflowUpdateFailedError | FailureError) -> str:
    """The most specific message in the failure's cause chain."""
    messages: list[str] = []
    failure: BaseException | None = error.cause if isinstance(error, WorkflowUpdateFailedError) else error
    while failure is not None:
        message = getattr(failure, "message", None) or str(failure)
        if message:
            messages.append(message)
        failure = failure.__cause__ or getattr(failure, "cause", None)
    useful = [m for m in messages if DECODING not in m] or messages
    if any(DECODING in m for m in messages) and useful:
        return "The request is not valid: " + useful[0]
    return useful[0] if useful else "The update was refused."
