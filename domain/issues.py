"""Validation problems that carry their own field path.

A model validator that checks several fields at once (a plan's cross-references, a school year's
breaks) may find many problems, each belonging to a different field. Pydantic reports one error per
validator, so the validator raises `Invalid` with every `Issue`; pydantic keeps the exception in
the error's context, and `domain.plan_yaml` expands it into one report line per issue.
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple

PathPart = str | int

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Issue(NamedTuple):
    path: tuple[PathPart, ...]
    value: object
    message: str


class Invalid(ValueError):
    """Raised by a model validator; its message lists every issue so it reads well on its own."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(
            f"{format_path(i.path)}: {i.message}" if i.path else i.message for i in self.issues))


def raise_if_any(issues: list[Issue]) -> None:
    if issues:
        raise Invalid(issues)


def format_path(parts: Iterable[PathPart]) -> str:
    """("cohorts", 1, "members", 3) -> "cohorts[1].members[3]"; odd keys are quoted."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text
