"""The four stages of implementation science and the moves allowed between them."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    EXPLORATION = "Exploration"
    INSTALLATION = "Installation"
    INITIAL_IMPLEMENTATION = "Initial Implementation"
    FULL_IMPLEMENTATION = "Full Implementation"

    @property
    def index(self) -> int:
        return STAGE_ORDER.index(self)

    @property
    def next(self) -> Stage | None:
        """The one stage a site may advance to from here (None from Full Implementation)."""
        position = self.index + 1
        return STAGE_ORDER[position] if position < len(STAGE_ORDER) else None


STAGE_ORDER: tuple[Stage, ...] = (
    Stage.EXPLORATION,
    Stage.INSTALLATION,
    Stage.INITIAL_IMPLEMENTATION,
    Stage.FULL_IMPLEMENTATION,
)


def is_advance(current: Stage, target: Stage) -> bool:
    """Forward moves go exactly one stage at a time."""
    return current.next is target


def is_regression(current: Stage, target: Stage) -> bool:
    """A site may slip back to any earlier stage; the move must carry a reason."""
    return target.index < current.index
