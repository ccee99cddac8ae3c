"""Action items from the items of an instrument: every item scored under the plan's mark is
proposed to the team, with an owner and a due date; the team accepts, merges or dismisses each.

An item already in play (proposed or accepted) is not proposed again by the next assessment of
the same instrument: the team's plan keeps one entry per item until it is dismissed or merged.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain import commands as cmd
from domain import events as ev
from domain.actors import Actor, Role
from domain.drivers import Driver
from domain.errors import DomainError
from domain.instruments import SCALES, AssessmentScore, DefinedAssessment
from domain.reviews import DISTRICT_TEAM, STATE_TEAM, SYSTEM_DRIVERS
from domain.site_state import ActionItemState, SiteRolloutState

BUILDING_TEAM = "Building Leadership Team"


def propose(state: SiteRolloutState, assessment_id: str, answers: DefinedAssessment,
            score: AssessmentScore, due: date) -> ev.ActionItemsProposedPayload | None:
    """The proposed action items for the items of one assessment under its mark (None: none)."""
    key = answers.key
    values = {a.item: a.value for a in answers.items}
    in_play = {(a.definition_id, a.item) for a in state.action_items.values()}
    labels = {level.value: level.label for level in SCALES[key.scale]}
    items = []
    for item_id in score.below_mark:
        if (key.definition_id, item_id) in in_play:
            continue
        item = next(i for i in key.items if i.id == item_id)
        group = next((g.label for g in key.groups if g.id == item.group), item.group)
        items.append(ev.ProposedActionItem(
            action_id=f"{assessment_id}:action:{item_id}", definition=key.ref, item=item_id,
            label=item.label, group=item.group, driver=item.driver, value=values[item_id],
            mark=key.action_mark, owner=owner_for(state, item.driver), due=due,
            title=(f"{key.definition_id} {item_id} {item.label} ({group}): scored "
                   f"{labels.get(values[item_id], values[item_id])}, raise it to "
                   f"{labels.get(key.action_mark, key.action_mark)}")))
    return ev.ActionItemsProposedPayload(assessment_id=assessment_id, items=items) if items else None


def owner_for(state: SiteRolloutState, driver: Driver | None) -> str:
    if driver in SYSTEM_DRIVERS:
        return STATE_TEAM
    return BUILDING_TEAM if state.kind == "school" else DISTRICT_TEAM


def default_due(submitted_on: date, weeks: int) -> date:
    """`weeks` ahead, moved off a weekend (the site's holidays are the workflow's to know: it
    passes a school day in `SubmitAssessment.action_due` when it has one)."""
    due = submitted_on + timedelta(weeks=weeks)
    return due + timedelta(days=(7 - due.weekday()) % 7) if due.weekday() >= 5 else due


# --- the team's decisions ---------------------------------------------------------------------

def accept(state: SiteRolloutState, c: cmd.AcceptActionItem) -> list:
    _require_team(state, c.actor)
    item = _in_play(state, c.action_id)
    if item is None:
        how = state.closed_action_items[c.action_id]
        raise DomainError(f"Action item '{c.action_id}' was {how}; it cannot be accepted.",
                          field="action_id", value=c.action_id)
    owner, due = c.owner or item.owner, c.due or item.due
    if item.status == "accepted" and (owner, due) == (item.owner, item.due):
        return []
    return [ev.ActionItemAcceptedPayload(action_id=item.action_id, owner=owner, due=due,
                                         note=c.note)]


def merge(state: SiteRolloutState, c: cmd.MergeActionItems) -> list:
    _require_team(state, c.actor)
    kept = state.action_items.get(c.into)
    if kept is None:
        raise DomainError(f"There is no open action item '{c.into}' for {state.site_name} to "
                          "merge into.", field="into", value=c.into)
    if c.into in c.merged:
        raise DomainError(f"'{c.into}' cannot be merged into itself.", field="merged",
                          value=c.into)
    merged = []
    for n, action_id in enumerate(dict.fromkeys(c.merged)):
        if state.closed_action_items.get(action_id) == "merged":
            continue  # merged already: a retry
        if action_id not in state.action_items:
            raise DomainError(f"There is no open action item '{action_id}' for {state.site_name}.",
                              field=f"merged[{n}]", value=action_id)
        merged.append(action_id)
    if not merged:
        return []
    return [ev.ActionItemsMergedPayload(into=c.into, merged=merged, title=c.title or kept.title,
                                        reason=c.reason)]


def dismiss(state: SiteRolloutState, c: cmd.DismissActionItem) -> list:
    _require_team(state, c.actor)
    if _in_play(state, c.action_id) is None:
        if state.closed_action_items[c.action_id] == "dismissed":
            return []  # a retry
        raise DomainError(f"Action item '{c.action_id}' was merged into another; dismiss that "
                          "one instead.", field="action_id", value=c.action_id)
    return [ev.ActionItemDismissedPayload(action_id=c.action_id, reason=c.reason)]


def _in_play(state: SiteRolloutState, action_id: str) -> ActionItemState | None:
    """The item, or None when it was already dismissed or merged (a retry changes nothing)."""
    item = state.action_items.get(action_id)
    if item is None and action_id not in state.closed_action_items:
        raise DomainError(f"There is no action item '{action_id}' for {state.site_name}.",
                          field="action_id", value=action_id)
    if item is None:
        return None
    return item


def _require_team(state: SiteRolloutState, actor: Actor) -> None:
    if actor.role not in (Role.DISTRICT_COORDINATOR, Role.STATE_ADMIN, Role.SYSTEM):
        raise DomainError(f"Only the site's district coordinator or a state admin may decide on "
                          f"its action items; {actor.id} is a {actor.role.value}.",
                          field="actor.role", value=actor.role.value)
    if actor.role is Role.DISTRICT_COORDINATOR and not actor.may_act_for(state.district_id):
        raise DomainError(f"{actor.id} coordinates district '{actor.district}', not "
                          f"'{state.district_id}'.", field="actor.district", value=actor.district)
    if state.status != "active":
        raise DomainError(f"The rollout at {state.site_name} is {state.status}; its action plan "
                          "is closed.", field="status", value=state.status)
