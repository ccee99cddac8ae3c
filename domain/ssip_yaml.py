"""SSIP document text (YAML) -> a phase document, with problems a state team can fix alone.

Read as plans are read (domain/plan_yaml.py): every problem is reported at once with its field
path, the value found and its line; dates stay text until pydantic reads them, so an impossible
date is a field problem rather than a loader crash. The text is bounded (MAX_BYTES) and anchors
and aliases are refused where they appear, so a few lines cannot stand for billions of values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scalarbool import ScalarBoolean

from domain.errors import DomainError
from domain.issues import Invalid, PathPart, format_path
from domain.ssip_documents import Document, PhaseOne, PhaseThree, PhaseTwo

MAX_BYTES = 1_000_000
Path = tuple[PathPart, ...]
_ADAPTER: TypeAdapter = TypeAdapter(Document)


class DocumentIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    value: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        field = f"{self.path} = {self.value}: " if self.path else ""
        return f"{where}{field}{self.message}"


class DocumentError(DomainError):
    """The document was refused; `errors` lists every problem found, in document order."""

    def __init__(self, errors: list[DocumentIssue], source: str) -> None:
        self.errors = errors
        count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        super().__init__(f"{source}: {count} in the SSIP document",
                         field=errors[0].path if errors else None,
                         value=errors[0].value if errors else None)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {issue}" for issue in self.errors)])


class _Constructor(RoundTripConstructor):
    """Dates stay text, so pydantic reads them (with a path)."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp",
                             lambda loader, node: loader.construct_scalar(node))


class _Composer(Composer):
    def compose_node(self, parent: object, index: object) -> object:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise ComposerError(None, None, "anchors and aliases are not allowed in an SSIP "
                                "document: write the value out in full", event.start_mark)
        return super().compose_node(parent, index)


def parse_document(text: str, source: str = "<document>") -> PhaseOne | PhaseTwo | PhaseThree:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise DocumentError([DocumentIssue(path="", value="", message=(
            f"the document is over {MAX_BYTES:,} bytes; an SSIP document is a few pages"))],
            source)
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Composer = _Composer
    lines: dict[Path, int] = {}
    try:
        tree = yaml.load(text)
        data = _plain(tree, (), lines)
    except YAMLError as failure:
        raise DocumentError([_syntax_issue(failure)], source) from None
    except RecursionError:
        raise DocumentError([DocumentIssue(path="", value="", message=(
            "the document is nested too deeply to read"))], source) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else "not a mapping"
        raise DocumentError([DocumentIssue(path="", value="", line=1, message=(
            f"the document is {kind}; it must be a mapping starting with 'phase: I', "
            "'phase: II' or 'phase: III'"))], source)
    if isinstance(data.get("phase"), int) and not isinstance(data.get("phase"), bool):
        data["phase"] = {1: "I", 2: "II", 3: "III"}.get(data["phase"], data["phase"])
    return validate_document(data, source, lines)


def validate_document(data: object, source: str = "<document>",
                      lines: dict[Path, int] | None = None) -> PhaseOne | PhaseTwo | PhaseThree:
    """A document from plain data (a JSON body, a parsed YAML text)."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as failure:
        issues = [issue for error in failure.errors()
                  for issue in _issues(error, data, lines or {})]
        raise DocumentError(sorted(issues, key=lambda i: i.line or 0), source) from None


def _issues(error: dict, data: object, lines: dict[Path, int]) -> list[DocumentIssue]:
    loc = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Invalid):
        return [_issue(_data_path(loc + tuple(i.path), data), _show(i.value), i.message, lines)
                for i in cause.issues]
    kind, value = error["type"], error.get("input")
    path = _data_path(loc, data)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return [_issue(("phase",), _show(error.get("ctx", {}).get("tag", "(missing)")),
                       "'phase' must be I, II or III", lines)]
    name = path[-1] if path else ""
    if kind == "missing":
        message, shown = f"required field '{name}' is missing", "(missing)"
    elif kind == "extra_forbidden":
        message, shown = f"unknown field '{name}'", _show(value)
    else:
        message, shown = error["msg"].removeprefix("Value error, "), _show(value)
    return [_issue(path, shown, message, lines)]


def _data_path(loc: tuple, data: object) -> Path:
    """Pydantic's location as a path in the document: union tags and names of wrapping models
    that the document does not spell out are left out."""
    path: list[PathPart] = []
    for n, part in enumerate(loc):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif part == "[key]" or n < len(loc) - 1:
            continue
        path.append(part)
    return tuple(path)


def _issue(path: Path, value: str, message: str, lines: dict[Path, int]) -> DocumentIssue:
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    return DocumentIssue(path=format_path(path), value=value, message=message, line=line)


def _syntax_issue(failure: YAMLError) -> DocumentIssue:
    mark = getattr(failure, "problem_mark", None) or getattr(failure, "context_mark", None)
    message = "; ".join(p for p in (failure.context, failure.problem) if p) if isinstance(
        failure, MarkedYAMLError) else str(failure)
    return DocumentIssue(path="", value="", message=f"YAML syntax: {message}",
                         line=mark.line + 1 if mark else None)


def _plain(node: object, path: Path, lines: dict[Path, int]) -> object:
    if isinstance(node, Mapping):
        result = {}
        for key, value in node.items():
            _remember(lines, path + (key,), node, key)
            plain_key = _plain(key, (), {})
            result[str(plain_key) if isinstance(plain_key, (dict, list)) else plain_key] = \
                _plain(value, path + (key,), lines)
        return result
    if isinstance(node, list):
        for i in range(len(node)):
            _remember(lines, path + (i,), node, i)
        return [_plain(item, path + (i,), lines) for i, item in enumerate(node)]
    if isinstance(node, ScalarBoolean):
        return bool(node)
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node if node is None else str(getattr(node, "value", node))


def _remember(lines: dict[Path, int], path: Path, container: object, key: object) -> None:
    try:
        position = container.lc.key(key) if isinstance(container, Mapping) else \
            container.lc.item(key)
    except (AttributeError, KeyError, IndexError, TypeError):
        return
    if position:
        lines[path] = position[0] + 1


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        text = "{" + ", ".join(map(str, value)) + "}"
    elif isinstance(value, list):
        text = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    elif isinstance(value, (str, Enum)):
        text = repr(str(value.value if isinstance(value, Enum) else value))
    elif isinstance(value, date):
        text = value.isoformat()
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
