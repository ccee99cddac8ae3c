"""A per-instance memo for frozen pydantic models (lookup tables, precomputed calendars).

Pydantic compares private attributes in `==`; a `Memo` always equals another `Memo`, so a model
with a warmed cache still equals a fresh copy, and the memo is never serialized.
"""

from __future__ import annotations


class Memo:
    def __init__(self, sources: tuple[object, ...] = (), value: object = None) -> None:
        self.sources = sources
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memo)

    __hash__ = None  # type: ignore[assignment]

    def holds(self, *sources: object) -> bool:
        """True when the memo was built from these very objects (not from an updated copy's)."""
        return self.value is not None and len(sources) == len(self.sources) and all(
            mine is theirs for mine, theirs in zip(self.sources, sources))
