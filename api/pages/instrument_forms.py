"""An assessment form for every instrument: built from its definition where the site's plan
answers the evidence with an instrument defined as data, else from the domain's older models.

A definition's form has one table per subscale, tier or stage, one row per item with its label,
description and, for each level of the scale, the item's own anchor; beside each agreed score,
the note of how the team resolved a disagreement; then the consensus (the facilitator, who does
not vote, and the voting participants by role and count). The posted form becomes the domain's
`DefinedAssessment`, which alone decides what is valid; the form only places its complaints next
to the control concerned (a score missing, a tier half answered, the facilitator not named).

The older models (the adoption decision, and any instrument a site answers without a definition)
become forms field by field: scalar fields single controls; a list of item models one row per
item from the domain's catalogues; a `role -> count` mapping a few role/count rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from api.pages.defined_forms import defined_form, parse_defined
from api.pages.form_fields import (
    Form, Input, Row, RowGroup, choices, humanize, input_for, number_choices, sentence,
)
from domain.criteria import InstrumentUse
from domain.drivers import Driver
from domain.instrument_definitions import InstrumentDefinition
from domain.instruments import (
    DEFAULT_CHECKLIST_ITEMS, LEGACY_MODELS, CapacityItem, ChecklistItem, IndicatorRating, Instrument,
)
from domain.stage_work import TITLES

Defined = tuple[InstrumentDefinition, InstrumentUse]
"""The definition a site answers an evidence with, and how its plan uses it."""

MODELS: dict[Instrument, type[BaseModel]] = {
    model.model_fields["instrument"].default: model for model in LEGACY_MODELS
}
"""Instrument -> its older answer model."""

FREE_ROWS = 6
"""Blank rows offered where the domain names no items (a stage analysis); blank ones are skipped."""
COUNT_ROWS = 3
"""Role/count rows offered for a `role -> count` field (a capacity assessment's participants)."""


def _indicator_rows() -> list[dict[str, str]]:
    indicator = IndicatorRating.model_fields["indicator"].annotation
    return [{"indicator": value} for value, _ in choices(indicator)]


def _driver_rows() -> list[dict[str, str]]:
    return [{"item": d.value, "driver": d.value} for d in Driver]


ROW_KEYS: dict[type[BaseModel], tuple[tuple[str, ...], Callable[[], list[dict[str, str]]]]] = {
    IndicatorRating: (("indicator",), _indicator_rows),
    ChecklistItem: (("item",), lambda: [{"item": i} for i in DEFAULT_CHECKLIST_ITEMS]),
    CapacityItem: (("item", "driver"), _driver_rows),
}
"""For each item model: the fields naming an item, and the domain catalogue listing the items.
Item models missing here get FREE_ROWS rows in which the person names the item."""


def _row_heading(model: type[BaseModel], key: dict[str, str]) -> str:
    if model is CapacityItem:
        driver = Driver(key["driver"])
        return f"{driver.value} ({driver.group.value} driver)"
    return humanize(next(iter(key.values())))


def _row_inputs(model: type[BaseModel], prefix: str, key: dict[str, str] | None,
                heading: str) -> list[Input]:
    inputs = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        if key is not None and name in key:
            inputs.append(Input(name=path, label=humanize(name), kind="hidden", value=key[name]))
            continue
        control = input_for(path, info, label=f"{heading}: {humanize(name)}")
        scale = number_choices(info)
        if scale is not None:
            control.kind, control.options = "select", [("", "choose"), *scale]
            control.value = ""
        if key is None and control.kind != "hidden":
            control.required = False  # a free row may stay blank
        inputs.append(control)
    return inputs


def _list_group(name: str, info, item_model: type[BaseModel]) -> RowGroup:
    keys, catalogue = ROW_KEYS.get(item_model, ((), None))
    rows = []
    if catalogue is not None:
        for index, key in enumerate(catalogue()):
            heading = _row_heading(item_model, key)
            rows.append(Row(heading, _row_inputs(item_model, f"{name}.{index}", key, heading)))
    else:
        for index in range(FREE_ROWS):
            heading = f"{humanize(name).rstrip('s')} {index + 1}"
            rows.append(Row(heading, _row_inputs(item_model, f"{name}.{index}", None, heading)))
    return RowGroup(name=name, label=humanize(name), rows=rows, hint=info.description or "")


def _count_group(name: str, info) -> RowGroup:
    rows = [Row(heading, [
        Input(name=f"{name}.{i}.role", label=f"{heading}: Role", kind="text", max_length=100),
        Input(name=f"{name}.{i}.count", label=f"{heading}: Number of people", kind="number",
              minimum=0),
    ]) for i, heading in enumerate(f"{humanize(name)} {n}" for n in range(1, COUNT_ROWS + 1))]
    return RowGroup(name=name, label=humanize(name), rows=rows, key_label="Entry",
                    hint=(info.description or "") + " (counts only, never names)")


def assessment_form(instrument: Instrument | str, defined: Defined | None = None) -> Form:
    """The blank form for one instrument: from its definition when the site has one."""
    if defined is not None:
        return defined_form(*defined)
    instrument = Instrument(instrument)
    model = MODELS[instrument]
    parts: list[Input | RowGroup] = []
    for name, info in model.model_fields.items():
        if name == "instrument":
            continue
        origin = get_origin(info.annotation)
        args = get_args(info.annotation)
        if origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            parts.append(_list_group(name, info, args[0]))
        elif origin is dict:
            parts.append(_count_group(name, info))
        else:
            parts.append(input_for(name, info))
    return Form(title=TITLES.get(instrument, humanize(instrument.value)), parts=parts)


def fill(form: Form, posted: Mapping[str, str]) -> Form:
    """Put what was entered back into the form (a refused form keeps the person's answers)."""
    for control in form.inputs():
        if control.kind == "hidden":
            continue
        if control.kind == "checkbox":
            control.value = "on" if posted.get(control.name) else ""
        elif control.name in posted:
            control.value = posted[control.name]
    return form


def parse_assessment(instrument: Instrument | str, posted: Mapping[str, str],
                     defined: Defined | None = None):
    """(the validated assessment, the filled form), or (None, the form with each problem next to
    its field)."""
    if defined is not None:
        return parse_defined(*defined, posted)
    instrument = Instrument(instrument)
    form = fill(assessment_form(instrument), posted)
    data, sources = _data(form, posted)
    try:
        return MODELS[instrument].model_validate({"instrument": instrument.value, **data}), form
    except ValidationError as problems:
        place_errors(form, problems, sources, posted)
        return None, form


def _data(form: Form, posted: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple, str]]:
    """The model's input from the form, and where each list element came from (for errors)."""
    data: dict[str, Any] = {}
    sources: dict[tuple, str] = {}
    for part in form.parts:
        if isinstance(part, Input):
            value = _value(part, posted)
            if value is not None:
                data[part.name] = value
        elif part.rows and part.rows[0].inputs[0].name.endswith(".role"):
            counts = {}
            for row in part.rows:
                role_input, count_input = row.inputs
                role = posted.get(role_input.name, "").strip()
                if role:
                    counts[role] = posted.get(count_input.name, "").strip()
                    sources[(part.name, role)] = count_input.name
            data[part.name] = counts
        else:
            items = []
            for row in part.rows:
                item = {}
                for control in row.inputs:
                    value = _value(control, posted)
                    if value is not None:
                        item[control.name.rsplit(".", 1)[-1]] = value
                if not _blank_free_row(row, posted):
                    sources[(part.name, len(items))] = row.inputs[0].name.rsplit(".", 1)[0]
                    items.append(item)
            data[part.name] = items
    return data, sources


def _value(control: Input, posted: Mapping[str, str]):
    if control.kind == "hidden":
        return control.value
    if control.kind == "checkbox":
        return bool(posted.get(control.name))
    raw = posted.get(control.name, "").strip()
    if raw == "" and not control.required:
        return None  # the model's default applies
    return raw


def _blank_free_row(row: Row, posted: Mapping[str, str]) -> bool:
    if any(c.kind == "hidden" for c in row.inputs):
        return False
    return not any(posted.get(c.name, "").strip() for c in row.inputs)


def place_errors(form: Form, problems: ValidationError, sources: dict[tuple, str],
                 posted: Mapping[str, str]) -> None:
    """Attach each error to the control it concerns, else to its group, else to the form."""
    controls = {c.name: c for c in form.inputs()}
    groups = {p.name: p for p in form.parts if isinstance(p, RowGroup)}
    for error in problems.errors():
        loc = tuple(error["loc"])
        name = _control_name(loc, sources)
        if name in controls:
            control = controls[name]
            control.error = control.error or sentence(control.label, error, posted.get(name, ""))
        elif loc and loc[0] in groups:
            group = groups[loc[0]]
            group.error = group.error or sentence(group.label, error, None)
        else:
            form.errors.append(sentence(humanize(loc[0]) if loc else "This form", error, None))


def _control_name(loc: tuple, sources: dict[tuple, str]) -> str:
    if len(loc) >= 2 and (loc[0], loc[1]) in sources:
        base = sources[(loc[0], loc[1])]
        return f"{base}.{loc[2]}" if len(loc) > 2 else base
    return ".".join(str(part) for part in loc)
