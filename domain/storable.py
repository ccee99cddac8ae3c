"""Can the event store hold this? The one check of what people send, wherever they send it.

PostgreSQL's JSON keeps text as UTF-8 without the NUL character (so no NUL and no lone surrogate,
in a value or in a key) and numbers only when finite. A value it refuses would be accepted by a
workflow and then fail to be recorded: the recording activity would retry it forever and the site
would stop. The size limits keep one person's answer a sentence-sized record rather than a
document. Every surface checks with it before anything reaches a workflow: the API's bodies (a
422 naming the field), the requests the API, the web pages and the CLI send (rollouts/
task_actions.py), the Update validators (so a client that bypasses all of those meets the same
limits), and plans (domain/plan.py: a plan is a document, so its texts are not held to the
sentence-sized limits, only to what the store can hold at all).

The walk is one pass over the value, depth-first, and stops at the first problem.
"""

from __future__ import annotations

import math
import re
from functools import reduce
from typing import NamedTuple

from domain.errors import DomainError, field_path, shown
from domain.issues import PathPart

MOST_KEYS = 50
"""Entries in one object (an outcome's figures and notes)."""
LONGEST_KEY = 100
LONGEST_TEXT = 2_000
DEEPEST = 10
"""Objects and lists nested in one another; requests use four or five levels."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Unstorable(NamedTuple):
    """The first part of a value the store cannot hold: where (a path below the value checked),
    the offending value, and what is wrong, as the end of a sentence that starts with the field."""

    path: tuple[PathPart, ...]
    value: object
    problem: str


def require_storable(value: object, path: str = "") -> None:
    """Raise a DomainError naming the first field (a path below `path`; "request" for the value
    itself) that the store cannot hold, with its value; return when it can hold all of it."""
    found = unstorable(value)
    if found is not None:
        where = reduce(field_path, found.path, path) or "request"
        raise DomainError(f"{where} {found.problem}.", field=where, value=found.value)


def unstorable(value: object, *, sized: bool = True) -> Unstorable | None:
    """The first part of `value` the store cannot hold, or None. With `sized` False only what the
    store cannot hold at all is looked for (no size, entry or nesting limits): for documents,
    such as plans, whose size is bounded elsewhere."""
    return _check(value, (), 0, sized)


def _check(value: object, path: tuple, depth: int, sized: bool) -> Unstorable | None:
    if isinstance(value, str):
        return _text(value, path, sized)
    if isinstance(value, float) and not math.isfinite(value):
        return Unstorable(path, value, f"is {value}; the record stores finite numbers only")
    if not isinstance(value, (dict, list, tuple)):
        return None
    if sized and depth >= DEEPEST:
        return Unstorable(path, shown(value), f"nests objects and lists more than {DEEPEST} deep")
    if isinstance(value, dict):
        found = _keys(value, path, sized)
        if found is not None:
            return found
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        found = _check(item, path + (key,), depth + 1, sized)
        if found is not None:
            return found
    return None


def _keys(mapping: dict, path: tuple, sized: bool) -> Unstorable | None:
    if sized and len(mapping) > MOST_KEYS:
        return Unstorable(path, len(mapping), f"has {len(mapping)} entries; an object has at most "
                                              f"{MOST_KEYS}")
    for key in mapping:
        if not isinstance(key, str):
            continue
        found = _characters(key, path + (key,))
        if found is not None:
            return found
        if sized and len(key) > LONGEST_KEY:
            return Unstorable(path, key, f"holds a name of {len(key):,} characters; a name is at "
                                         f"most {LONGEST_KEY} characters: {shown(key)}")
    return None


def _text(text: str, path: tuple, sized: bool) -> Unstorable | None:
    found = _characters(text, path)
    if found is None and sized and len(text) > LONGEST_TEXT:
        found = Unstorable(path, text, f"is a text of {len(text):,} characters; a text is at most "
                                       f"{LONGEST_TEXT:,} characters: {shown(text)}")
    return found


def _characters(text: str, path: tuple) -> Unstorable | None:
    if "\x00" in text:
        return Unstorable(path, text, "contains a NUL character, which the record cannot store: "
                                      f"{shown(text)}")
    if _LONE_SURROGATE.search(text):
        return Unstorable(path, text, "contains a lone surrogate, which the record cannot store: "
                                      f"{shown(text)}")
    return None
