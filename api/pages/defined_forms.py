"""The form of an instrument defined as data, built from its definition, and its posted answers
read back into the domain's `DefinedAssessment`.

Control names: `items.<item id>.value` (the agreed level) and `items.<item id>.resolution` (how
a disagreement was resolved), `consensus.facilitator`, `consensus.participants.<n>.role|count`,
`practitioners_assessed|meeting` for a share, `taken_on` and `notes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import ValidationError

from api.pages.form_fields import Form, Input, Row, RowGroup, sentence
from domain.criteria import InstrumentUse
from domain.instrument_definitions import Group, InstrumentDefinition, scoring_key
from domain.instruments import SCALES, Consensus, DefinedAssessment, ItemAnswer

PARTICIPANT_ROWS = 4
"""Role/count rows offered for the voting participants; blank ones are skipped."""
GROUP_NAMES = {"subscale": "Subscale", "tier": "Tier", "stage": "Stage", "driver": "Driver",
               "indicator group": "Indicators", "section": "Section"}
AGREED = "Agreed score"
RESOLVED = "If the team disagreed at first: how it was resolved"


def defined_form(definition: InstrumentDefinition, use: InstrumentUse) -> Form:
    """The blank form: one table per group, then the consensus, the date and notes."""
    parts: list[Input | RowGroup] = []
    if definition.scoring.rule == "share":
        parts += [Input(name="practitioners_assessed", label="Practitioners observed",
                        kind="number", required=True, minimum=1, maximum=100_000,
                        hint="a count, never names"),
                  Input(name="practitioners_meeting", label="Of them, meeting the fidelity criterion",
                        kind="number", required=True, minimum=0, maximum=100_000)]
    for group in definition.groups:
        parts.append(_group_table(definition, group))
    if definition.completed_by.by == "team-consensus":
        parts += _consensus_parts(definition)
    parts += [Input(name="taken_on", label="Date the team scored it", kind="text", max_length=10,
                    hint="YYYY-MM-DD; leave blank for today"),
              Input(name="notes", label="Notes", kind="textarea", max_length=2000)]
    mark = use.mark or definition.action_mark or SCALES[definition.scale][-1].value
    title = f"{definition.title} ({definition.id} {definition.version})"
    intro = (f"{definition.summary} Items scored under '{_level_label(definition, mark)}' "
             "become proposed action items.").strip()
    return Form(title=title, parts=parts, intro=intro)


def _group_table(definition: InstrumentDefinition, group: Group) -> RowGroup:
    kind = GROUP_NAMES.get(definition.groups_are, definition.groups_are.capitalize())
    rows = []
    for item in definition.items_of(group.id):
        heading = f"{item.id} {item.label}"
        options = [("", "choose")] + [
            (level.value, f"{level.value}: {item.anchors[level.value]}" if level.value in item.anchors
             else level.label) for level in SCALES[definition.scale]]
        rows.append(Row(heading, [
            Input(name=f"items.{item.id}.value", label=f"{heading}: {AGREED}", kind="select",
                  options=options, required=group.required),
            Input(name=f"items.{item.id}.resolution", label=f"{heading}: {RESOLVED}", kind="text",
                  max_length=2000),
        ], detail=item.description))
    hint = group.description
    if not group.required:
        hint = (hint + " " if hint else "") + "Optional: leave the whole table blank if the " \
            f"{definition.groups_are} is not run here."
    return RowGroup(name=f"group-{group.id}", label=f"{kind}: {group.label}", rows=rows, hint=hint)


def _consensus_parts(definition: InstrumentDefinition) -> list[Input | RowGroup]:
    needed = definition.completed_by.facilitator == "required"
    facilitator = Input(name="consensus.facilitator", label="Facilitator", kind="text",
                        max_length=200, required=needed,
                        hint="guides the discussion and does not vote (a staff account or name)")
    rows = [Row(f"Participant group {n}", [
        Input(name=f"consensus.participants.{n}.role", label=f"Participant group {n}: Role",
              kind="text", max_length=100),
        Input(name=f"consensus.participants.{n}.count", label=f"Participant group {n}: Number voting",
              kind="number", minimum=0, maximum=500),
    ]) for n in range(1, PARTICIPANT_ROWS + 1)]
    participants = RowGroup(name="consensus-participants", label="Voting participants", rows=rows,
                            key_label="Entry", hint="by role, counts only, never names; the "
                            "team agrees each score together")
    return [facilitator, participants]


def fill(form: Form, posted: Mapping[str, str]) -> Form:
    for control in form.inputs():
        if control.name in posted:
            control.value = posted[control.name]
    return form


def parse_defined(definition: InstrumentDefinition, use: InstrumentUse,
                  posted: Mapping[str, str]) -> tuple[DefinedAssessment | None, Form]:
    """(the answers, the filled form), or (None, the form with each problem at its control)."""
    form = fill(defined_form(definition, use), posted)
    controls = {c.name: c for c in form.inputs()}
    answers = _items(definition, posted, controls)
    consensus = _consensus(definition, posted, controls, form)
    counts = {name: _count(posted, controls[name]) for name in
              ("practitioners_assessed", "practitioners_meeting") if name in controls}
    taken_on = _date(posted, controls["taken_on"])
    if form.has_errors:
        return None, form
    try:
        return DefinedAssessment(
            instrument=definition.evidence, key=scoring_key(definition, use.mark),
            items=answers, consensus=consensus, taken_on=taken_on,
            notes=posted.get("notes", "").strip(), **counts), form
    except ValidationError as problems:
        for error in problems.errors():
            form.errors.append(sentence("The answers", error, None))
        return None, form


def _items(definition: InstrumentDefinition, posted: Mapping[str, str],
           controls: dict[str, Input]) -> list[ItemAnswer]:
    """The agreed scores entered; a required group's blank score, or a blank score in an optional
    group partly answered, is named at its control."""
    answers = []
    for group in definition.groups:
        items = definition.items_of(group.id)
        entered = {i.id: posted.get(f"items.{i.id}.value", "").strip() for i in items}
        started = any(entered.values())
        for item in items:
            control = controls[f"items.{item.id}.value"]
            if entered[item.id]:
                answers.append(ItemAnswer(
                    item=item.id, value=entered[item.id][:20],
                    resolution=posted.get(f"items.{item.id}.resolution", "").strip()[:2000]))
            elif group.required or started:
                whole = "" if group.required else " (a tier or part is answered whole or not at all)"
                control.error = f"{item.id} {item.label}: choose the agreed score{whole}."
    return answers


def _consensus(definition: InstrumentDefinition, posted: Mapping[str, str],
               controls: dict[str, Input], form: Form) -> Consensus | None:
    if definition.completed_by.by != "team-consensus":
        return None
    facilitator = posted.get("consensus.facilitator", "").strip()
    if not facilitator and controls["consensus.facilitator"].required:
        controls["consensus.facilitator"].error = "Facilitator is required: name who facilitated."
    participants: dict[str, int] = {}
    for n in range(1, PARTICIPANT_ROWS + 1):
        role = posted.get(f"consensus.participants.{n}.role", "").strip()
        count_control = controls[f"consensus.participants.{n}.count"]
        raw = posted.get(count_control.name, "").strip()
        if not role and not raw:
            continue
        if not role:
            controls[f"consensus.participants.{n}.role"].error = \
                f"Participant group {n}: name the role of the {raw} participant(s)."
            continue
        count = _count(posted, count_control)
        if count is not None:
            participants[role[:100]] = participants.get(role[:100], 0) + count
    group = next(p for p in form.parts if isinstance(p, RowGroup) and p.name == "consensus-participants")
    if sum(participants.values()) < 1 and not any(c.error for r in group.rows for c in r.inputs):
        group.error = "Voting participants: give at least one role with the number who voted."
    return Consensus(facilitator=facilitator or None, participants=participants)


def _count(posted: Mapping[str, str], control: Input) -> int | None:
    raw = posted.get(control.name, "").strip()
    if not raw:
        if control.required or control.name.startswith("consensus."):
            control.error = f"{control.label} is required."
        return None
    try:
        value = int(raw)
    except ValueError:
        control.error = f"{control.label} should be a whole number; you entered '{raw}'."
        return None
    low, high = control.minimum or 0, control.maximum or 100_000
    if not low <= value <= high:
        control.error = f"{control.label} should be from {low:g} to {high:g}; you entered '{raw}'."
        return None
    return value


def _date(posted: Mapping[str, str], control: Input) -> date | None:
    raw = posted.get(control.name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        control.error = f"{control.label} should be a date like 2026-10-05; you entered '{raw}'."
        return None


def _level_label(definition: InstrumentDefinition, value: str) -> str:
    return next((level.label for level in SCALES[definition.scale] if level.value == value), value)
