"""Can the event store hold this? The one check of what people send, wherever they send it.

PostgreSQL's JSON keeps text as UTF-8 without the NUL character (so no NUL and no lone surrogate,
in a value or in a key) and numbers only when finite. A value it refuses would be accepted by a
workflow and then fail to be recorded: the recording activity would retry it forever and the site
would stop. The size limits keep one person's answer a sentence-sized record rather than a
document. The API checks its bodies with it (a 422 naming the field) and the Update validators
check every request with it, so a client that bypasses the API meets the same limits.
"""

from __future__ import annotations

import math
import re

from domain.errors import DomainError, field_path, shown

MOST_KEYS = 50
"""Entries in one object (an outcome's figures and notes)."""
LONGEST_KEY = 100
LONGEST_TEXT = 2_000
DEEPEST = 10
"""Objects and lists nested in one another; requests use four or five levels."""
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def require_storable(value: object, path: str = "") -> None:
    """Raise a DomainError naming the first field (a path below `path`; "request" for the value
    itself) that the store cannot hold, with its value; return when it can hold all of it."""
    _check(value, path, 0)


def _check(value: object, path: str, depth: int) -> None:
    where = path or "request"
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise DomainError(f"{where} is {value}; the record stores finite numbers only.",
                          field=where, value=value)
    elif isinstance(value, (dict, list, tuple)):
        if depth >= DEEPEST:
            raise DomainError(f"{where} nests objects and lists more than {DEEPEST} deep.",
                              field=where, value=shown(value))
        if isinstance(value, dict):
            _check_keys(value, path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _check(item, field_path(path, key), depth + 1)


def _check_keys(mapping: dict, path: str) -> None:
    where = path or "request"
    if len(mapping) > MOST_KEYS:
        raise DomainError(f"{where} has {len(mapping)} entries; an object has at most "
                          f"{MOST_KEYS}.", field=where, value=len(mapping))
    for key in mapping:
        if not isinstance(key, str):
            continue
        _check_characters(key, field_path(path, key))
        if len(key) > LONGEST_KEY:
            raise DomainError(f"{where}: a name is at most {LONGEST_KEY} characters, not "
                              f"{len(key):,}: {shown(key)}.", field=where, value=key)


def _check_text(text: str, where: str) -> None:
    _check_characters(text, where)
    if len(text) > LONGEST_TEXT:
        raise DomainError(f"{where}: a text is at most {LONGEST_TEXT:,} characters, not "
                          f"{len(text):,}: {shown(text)}.", field=where, value=text)


def _check_characters(text: str, where: str) -> None:
    if "\x00" in text:
        raise DomainError(f"{where} contains a NUL character, which the record cannot store: "
                          f"{shown(text)}.", field=where, value=text)
    if _LONE_SURROGATE.search(text):
        raise DomainError(f"{where} contains a lone surrogate, which the record cannot store: "
                          f"{shown(text)}.", field=where, value=text)
