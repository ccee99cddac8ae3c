"""Where a site stands, in the one sentence a person reads after acting on it."""

from __future__ import annotations

from domain.site_state import SiteRolloutState


def explain(state: SiteRolloutState) -> str:
    if state.status != "active":
        return f"The rollout is {state.status}."
    if state.pending_move:
        return f"Criteria met; waiting for the state team to approve the move to {state.pending_move}."
    unmet = [c for c in state.last_checks if not c.met]
    if not unmet:
        return f"The site is in {state.stage}."
    gaps = "; ".join(f"{c.name}: {c.actual} (needs {c.required})" for c in unmet)
    return f"The site stays in {state.stage}: {gaps}."
