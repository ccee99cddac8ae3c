"""Small-cell suppression for reports and exports (FERPA practice).

The store holds aggregates only (counts, percents, scores; never names), but a small count can
still point at a person: "2 of 3 teachers meet fidelity". Reports and exports therefore hide any
count from 1 to `min_cell - 1` (default 10, configurable from 5 to 30), and hide a complementary
cell too when the hidden one could be recovered from what is shown: a part of a whole is hidden
with its whole when either the part or the rest is small. Audit reads apply the plan's minimum
but never less than the default (`applied_min_cell`).
"""

from __future__ import annotations

from typing import Any, Iterable

MIN_CELL = 10
MIN_CELL_RANGE = (5, 30)
RAISED_MIN_CELL_RANGE = (MIN_CELL, MIN_CELL_RANGE[1])
"""What a reader may ask an audit read for (`--min-cell`, `?min_cell=`): it can only raise the
minimum, so never below the default."""


def check_min_cell(min_cell: int) -> int:
    low, high = MIN_CELL_RANGE
    if not low <= min_cell <= high:
        raise ValueError(f"min_cell must be from {low} to {high}, not {min_cell}")
    return min_cell


def applied_min_cell(plans: Iterable[int | None] = (), asked: int | None = None) -> int:
    """The minimum cell size an audit read or export applies: the largest its initiatives' plans
    declared (as recorded when each launched), raised but never lowered by what the reader asks,
    and never below the default. A read spanning several initiatives is told with the strictest."""
    return max(MIN_CELL, asked or MIN_CELL, *(n for n in plans if n is not None))


def small(n: int | None, min_cell: int = MIN_CELL) -> bool:
    return n is not None and 0 < n < min_cell


def cell(n: int, min_cell: int = MIN_CELL) -> str:
    """A count as a report shows it."""
    return f"<{min_cell}" if small(n, min_cell) else str(n)


def part_of_whole(part: int, whole: int, min_cell: int = MIN_CELL) -> bool:
    """True when a part and its whole may both be shown: neither the part nor the rest is small."""
    return not (small(part, min_cell) or small(whole - part, min_cell))


_COUNTS = {
    "SiteEnrolled": ("practitioners",),
    "PdSessionHeld": ("attendees",),
    "CoachingCycleCompleted": ("practitioners_observed",),
}


def redact(event_type: str, payload: dict[str, Any], min_cell: int = MIN_CELL) -> dict[str, Any]:
    """A copy of an event's JSON payload with small cells set to None and listed in
    `suppressed`, so a reader knows a value was withheld rather than missing."""
    out, hidden = _copy(payload), []
    for name in _COUNTS.get(event_type, ()):
        if small(out.get(name), min_cell):
            out[name] = None
            hidden.append(name)
    if event_type == "FidelityAssessed":
        hidden += _split(out, "", "practitioners_meeting", "practitioners_assessed", min_cell)
    if event_type == "AssessmentSubmitted":
        answers, score = out.get("answers") or {}, out.get("score") or {}
        if answers.get("instrument") == "fidelity" and answers.get("practitioners_assessed") is not None:
            hidden += _split(answers, "answers.", "practitioners_meeting", "practitioners_assessed", min_cell)
            hidden += _split(score, "score.", "points", "possible_points", min_cell)
        hidden += _participants(answers, "answers.", min_cell)
        hidden += _participants(answers.get("consensus") or {}, "answers.consensus.", min_cell)
    if hidden:
        out["suppressed"] = hidden
    return out


def _participants(holder: dict, prefix: str, min_cell: int = MIN_CELL) -> list[str]:
    """A team's participants by role are counts of people: each small one is hidden."""
    hidden = []
    for role, n in list((holder.get("participants") or {}).items()):
        if small(n, min_cell):
            holder["participants"][role] = None
            hidden.append(f"{prefix}participants.{role}")
    return hidden


def _split(data: dict, prefix: str, part: str, whole: str, min_cell: int) -> list[str]:
    if part not in data or whole not in data or part_of_whole(data[part], data[whole], min_cell):
        return []
    data[part] = data[whole] = None
    return [prefix + part, prefix + whole]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
