"""Turning a refused Update into the sentence a person should read.

A validator's refusal carries the domain's message (and the field and value it concerns). Input
that does not even decode into the request model is refused by the SDK as "Failed decoding
arguments", with pydantic's explanation, which names the field and the bad value, as its cause.
"""

from __future__ import annotations

import re

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
        return "The request is not valid: " + _one_sentence(useful[0])
    return useful[0] if useful else "The update was refused."


_PYDANTIC = re.compile(r"^(\d+) validation errors? for \w+\n")
_PROBLEM = re.compile(r"^(?:(?P<field>\S.*)\n)?  (?P<message>.+?)"
                      r"(?: \[type=[\w.]+(?:, input_value=(?P<value>.*), input_type=\w+)?\])?$",
                      re.MULTILINE)


def _one_sentence(message: str) -> str:
    """pydantic's multi-line report as one line: the first field, its problem and the value sent."""
    count = _PYDANTIC.match(message)
    problem = _PROBLEM.search(message, count.end()) if count else None
    if problem is None:
        return message
    text = f"{problem['field'] or 'the request'}: {problem['message']}"
    if problem["value"] is not None:
        text += f" (got {problem['value']})"
    more = int(count.group(1)) - 1
    return text + (f"; and {more} more problem{'s' if more > 1 else ''}." if more else ".")
