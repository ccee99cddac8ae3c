"""The stage board's one rule: in which column a site counts.

Each site counts once: completed, paused and cancelled sites apart, the others by their stage, and
"Not started" before their first stage is set up. The initiative's status query, `rollout board`,
`rollout status`, the web board and the SSIP report all count with `column`.
"""

from __future__ import annotations

from domain.stages import Stage

NOT_STARTED = "Not started"
HALTED_OR_DONE = {"completed": "Completed", "paused": "Paused", "cancelled": "Cancelled"}
COLUMNS: tuple[str, ...] = (NOT_STARTED, *(s.value for s in Stage), *HALTED_OR_DONE.values())


def column(stage: Stage | str | None, status: str | None) -> str:
    """The board column of a site at `stage` with `status`."""
    if status in HALTED_OR_DONE:
        return HALTED_OR_DONE[status]
    if stage is None:
        return NOT_STARTED
    return Stage(stage).value
