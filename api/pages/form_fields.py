"""Form fields read off pydantic fields, and pydantic's complaints turned into sentences.

The web forms never restate a rule the domain already holds: an input's kind, bounds, choices,
default and hint come from the model field it fills, and the model itself judges what was sent.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Kind = Literal["text", "textarea", "number", "select", "checkbox", "hidden"]
LONG_TEXT = 200
"""Text fields allowed more characters than this get a text area."""


@dataclass
class Input:
    """One form control; `name` is the model path joined with dots, e.g. `items.3.score`."""

    name: str
    label: str
    kind: Kind
    value: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    hint: str = ""
    error: str = ""

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")

    @property
    def checked(self) -> bool:
        return self.value.lower() in ("on", "true", "1", "yes")


@dataclass
class Row:
    """One line of a repeated group: a heading (what is rated) and its inputs."""

    heading: str
    inputs: list[Input]
    detail: str = ""
    """What the row's item means, shown under its heading."""


@dataclass
class RowGroup:
    name: str
    label: str
    rows: list[Row]
    hint: str = ""
    error: str = ""
    key_label: str = "Item"
    """The heading over the rows' names."""


@dataclass
class Form:
    title: str
    parts: list[Input | RowGroup]
    errors: list[str] = field(default_factory=list)
    """Problems with the form as a whole, or the workflow's refusal."""
    intro: str = ""
    """A sentence above the controls (what the instrument is, what becomes an action item)."""

    def inputs(self):
        for part in self.parts:
            if isinstance(part, Input):
                yield part
            else:
                for row in part.rows:
                    yield from row.inputs

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(i.error for i in self.inputs()) or any(
            isinstance(p, RowGroup) and p.error for p in self.parts)


def humanize(name: str) -> str:
    text = str(name).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def optional_inner(annotation: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return annotation


def choices(annotation: Any) -> list[tuple[str, str]] | None:
    """The allowed values of a Literal or an Enum, as (value, label) pairs; None otherwise."""
    annotation = optional_inner(annotation)
    if get_origin(annotation) is Literal:
        values = [v.value if isinstance(v, Enum) else v for v in get_args(annotation)]
        return [(str(v), humanize(v)) for v in values]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [(str(m.value), str(m.value)) for m in annotation]
    return None


def input_for(name: str, info: FieldInfo, *, label: str | None = None) -> Input:
    """The control that fills one scalar model field."""
    annotation = optional_inner(info.annotation)
    default = info.default if info.default not in (PydanticUndefined, None) else ""
    common = dict(name=name, label=label or humanize(name.rsplit(".", 1)[-1]),
                  required=info.is_required(), hint=info.description or "",
                  value=str(default.value if isinstance(default, Enum) else default))
    options = choices(annotation)
    if options is not None:
        return Input(kind="select", options=options, **common)
    if annotation is bool:
        return Input(kind="checkbox", **{**common, "required": False})
    if annotation in (int, float):
        low, high = _bounds(info)
        return Input(kind="number", minimum=low, maximum=high, **common)
    longest = _max_length(info)
    kind: Kind = "textarea" if longest and longest > LONG_TEXT else "text"
    return Input(kind=kind, max_length=longest, **common)


def number_choices(info: FieldInfo) -> list[tuple[str, str]] | None:
    """A small integer scale (0-2, 1-5) offered as a choice list, labelled with the field's hint."""
    if optional_inner(info.annotation) is not int:
        return None
    low, high = _bounds(info)
    if low is None or high is None or high - low > 10:
        return None
    return [(str(v), str(v)) for v in range(int(low), int(high) + 1)]


def _bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for m in info.metadata:
        if isinstance(m, at.Ge):
            low = m.ge
        elif isinstance(m, at.Gt):
            low = m.gt
        elif isinstance(m, at.Le):
            high = m.le
        elif isinstance(m, at.Lt):
            high = m.lt
    return low, high


def _max_length(info: FieldInfo) -> int | None:
    return next((m.max_length for m in info.metadata if isinstance(m, at.MaxLen)), None)


REWORDED = {
    "int_parsing": "should be a whole number",
    "float_parsing": "should be a number",
    "bool_parsing": "should be yes or no",
}


def sentence(label: str, error: dict, raw: str | None) -> str:
    """One pydantic error as the sentence shown next to the field: the field, what is wrong,
    and the value entered."""
    if raw is not None and not raw.strip() or error["type"] == "missing":
        return f"{label} is required."
    if error["type"] == "too_short" and isinstance(error.get("input"), list):
        return f"{label}: fill in at least {error.get('ctx', {}).get('min_length', 1)} row(s)."
    message = REWORDED.get(error["type"]) or error["msg"].removeprefix("Value error, ").rstrip(".")
    message = message.replace("Input should be", "should be")
    shown = raw if raw is not None else error.get("input")
    if isinstance(shown, (dict, list)) or shown is None:
        return f"{label}: {message}."
    joiner = " " if message.startswith("should") else ": "
    return f"{label}{joiner}{message}; you entered '{shown}'."
