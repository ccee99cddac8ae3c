"""The form that completes a task: the outcome figures its kind of task reports, if any.

A PD session reports its attendance and a coaching step the practitioners observed; the bounds
and wording come from the domain commands that record those figures, so the form accepts
exactly what the workflow will. Other tasks are simply marked done.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ValidationError, create_model

from api.pages.form_fields import Form, humanize, input_for
from api.pages.instrument_forms import fill, place_errors
from domain.commands import CompleteCoachingCycle, RecordPdSessionHeld

OUTCOME_FIELDS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "hold_pd_session": (RecordPdSessionHeld, ("attendees",)),
    "coaching_step": (CompleteCoachingCycle, ("practitioners_observed",)),
}
"""Task kind -> the domain command whose fields the outcome carries."""
DONE = {"done": True}
"""The outcome of a task that reports no figures (the simulated districts send the same)."""

TITLES = {"hold_pd_session": "Report the PD session as held",
          "coaching_step": "Record the coaching step", "action_item": "Mark the action item done",
          "join_review": "Confirm you joined the review"}


def _outcome_model(kind: str) -> type[BaseModel] | None:
    if kind not in OUTCOME_FIELDS:
        return None
    command, names = OUTCOME_FIELDS[kind]
    fields = {name: (command.model_fields[name].annotation, command.model_fields[name])
              for name in names}
    return create_model(f"{humanize(kind).replace(' ', '')}Outcome", **fields)


def completion_form(kind: str) -> Form:
    model = _outcome_model(kind)
    parts: list = []
    if model is not None:
        parts = [input_for(name, info, label=humanize(name))
                 for name, info in model.model_fields.items()]
        for control in parts:
            control.required = True
    return Form(title=TITLES.get(kind, "Mark the task done"), parts=parts)


def parse_completion(kind: str, posted: Mapping[str, str]) -> tuple[dict | None, Form]:
    """(the outcome to send, the form) — the outcome is None when the form has errors."""
    form = fill(completion_form(kind), posted)
    model = _outcome_model(kind)
    if model is None:
        return dict(DONE), form
    data = {c.name: posted.get(c.name, "").strip() for c in form.inputs()}
    try:
        return model.model_validate(data).model_dump(), form
    except ValidationError as problems:
        place_errors(form, problems, {}, posted)
        return None, form
