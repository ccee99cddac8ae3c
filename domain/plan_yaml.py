"""Plan YAML text <-> `Plan`, with errors a plan author can fix without reading Python.

Parsing keeps the YAML node positions (ruamel's round-trip loader) so that each problem, from a
syntax error to a cohort listing an unknown site, is reported with its field path, the offending
value and its line. Timestamps are left to pydantic: an impossible date such as 2026-02-30 is then
a field error with a path instead of a loader crash. `dump_plan` writes the canonical form:
parse(dump(plan)) == plan, and dumping twice gives the same bytes.

The work a plan file can cause is bounded by its size. A text over MAX_PLAN_BYTES is refused
before it is parsed. The round-trip loader is pure Python and reads some 25 to 100 kB a second
(the 65 kB state-scale example takes about a second), so a plan at the limit costs minutes, not
hours; a state's largest plan, some ten thousand sites, is under 2 MB. Anchors and aliases (`&name`,
`*name`, `<<: *name`) are refused where they appear: an alias repeats a node without repeating
its text, so a few lines of aliases of aliases ("billion laughs") stand for billions of values
and would exhaust time and memory; plans do not need them (the examples use none, and
`dump_plan` writes none). Tags are refused too, but for the core ones that only say how to read a
value (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`): the others (`!!omap`,
`!!set`, `!!binary`, local tags) build values a plan has no place for, and the library's builders
of some of them fail with Python errors on a scalar. A value the loader cannot read as what it
looks like or is tagged as (an integer of thousands of digits, `0x_`, `!!int 12.5`, `!!bool x`, a
`\\U` escape beyond U+10FFFF) is a syntax problem with its line and the value, not a crash.
"""

from __future__ import annotations

import difflib
import io
import typing
from collections.abc import Callable, Mapping
from datetime import date
from enum import Enum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scanner import RoundTripScanner, ScannerError

from domain.errors import DomainError
from domain.issues import Invalid, Issue, PathPart, format_path
from domain.instrument_definitions import Catalogue
from domain.plan import INSTRUMENTS_CONTEXT, Plan, whole_plan_issues

Path = tuple[PathPart, ...]
MAX_PLAN_BYTES = 5_000_000
"""The largest plan text read (UTF-8 bytes): 5 MB, some 25,000 sites."""


class PlanIssue(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    value: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        field = f"{self.path} = {self.value}: " if self.path else ""
        return f"{where}{field}{self.message}"

    @classmethod
    def of(cls, path: str, value: str, message: str, line: int | None) -> PlanIssue:
        """An issue whose text is safe to print: a control character the plan holds (in a key
        quoted in the path or the message) is written as an escape, never sent to the terminal,
        and every issue stays on one line."""
        return cls(path=_printable(path), value=_printable(value), message=_printable(message),
                   line=line)


class PlanError(DomainError):
    """The plan (or another YAML document: an instrument definition) was refused; `errors` lists
    every problem found, in document order."""

    def __init__(self, errors: list[PlanIssue], source: str = "<plan>", what: str = "plan") -> None:
        self.errors = errors
        self.source = source
        count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        super().__init__(f"{source}: {count} in the {what}", field=errors[0].path if errors else None,
                         value=errors[0].value if errors else None)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  {issue}" for issue in self.errors)])


class _Constructor(RoundTripConstructor):
    """Dates stay text, so pydantic validates them (with a path) instead of the loader; a scalar
    the loader cannot convert is a problem at its line, naming the value. The library's
    converters fail on some texts its resolver took for numbers (`0x_`: IndexError) or on texts
    tagged as what they are not (`!!bool x`: KeyError), not only with ValueError."""

    def construct_non_recursive_object(self, node: object, tag: str | None = None) -> object:
        try:
            return super().construct_non_recursive_object(node, tag)
        except (ValueError, TypeError, OverflowError, KeyError, IndexError) as failure:
            kind = str(tag or node.tag).rsplit(":", 1)[-1]
            reason = "" if isinstance(failure, LookupError) else f": {str(failure).split(';')[0]}"
            raise ConstructorError(None, None, f"cannot read {_show(str(node.value))} as "
                                   f"{kind}{reason}", node.start_mark) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp",
                             lambda loader, node: loader.construct_scalar(node))


class _Scanner(RoundTripScanner):
    """A `\\U` escape naming no character (past U+10FFFF) is a syntax problem at its place; the
    library hands the number to `chr`, which raises ValueError or OverflowError."""

    def scan_flow_scalar_non_spaces(self, double: object, start_mark: object) -> object:
        try:
            return super().scan_flow_scalar_non_spaces(double, start_mark)
        except (ValueError, OverflowError):  # the reader stands at the escape's hex digits
            raise ScannerError(
                "while scanning a double-quoted scalar", start_mark,
                f"the escape \\U{self.reader.prefix(8)} names no character (the last is "
                "\\U0010FFFF)", self.reader.get_mark()) from None


_READING_TAGS = frozenset(f"tag:yaml.org,2002:{name}"
                          for name in ("str", "int", "float", "bool", "null", "seq", "map"))
"""Tags that only say how to read a value as one of the kinds a plan holds."""


class _Composer(Composer):
    """Refuses anchors, aliases and tags other than `_READING_TAGS` as it meets them, before
    anything is built from them."""

    def compose_node(self, parent: object, index: object) -> object:
        event = self.parser.peek_event()
        what = getattr(self.loader, "document_kind", "plan")
        if isinstance(event, AliasEvent) or event.anchor is not None:
            raise ComposerError(
                None, None, f"anchors and aliases are not allowed in {_a(what)} "
                f"({'*' if isinstance(event, AliasEvent) else '&'}{_printable(str(event.anchor))[:40]}): "
                "write the value out in full", event.start_mark)
        tag = getattr(event, "ctag", None) or getattr(event, "tag", None)
        if tag is not None and str(tag) not in _READING_TAGS and str(tag) != "!":
            shown = _printable(str(tag)).replace("tag:yaml.org,2002:", "!!")
            raise ComposerError(
                None, None, f"the tag {shown[:40]} is not allowed in {_a(what)} (only !!str, !!int, "
                "!!float, !!bool and !!null): write the value plainly", event.start_mark)
        return super().compose_node(parent, index)


def parse_plan(text: str, source: str = "<plan>", *, instruments: Catalogue | None = None) -> Plan:
    """The plan, or PlanError naming every problem, including those of the plan as a whole
    (`whole_plan_issues`). With `instruments` (the definitions this process knows:
    `instrument_library.load_catalogue`), the plan's references to instruments, their versions,
    subscales, tiers and thresholds are checked against them and named thresholds are resolved;
    without, only their form is checked."""
    context = {INSTRUMENTS_CONTEXT: instruments} if instruments is not None else None
    return parse_document(text, Plan, source, context=context, what="plan", hint=(
        "it must be a mapping with 'initiative', 'sites', 'cohorts', 'pd' and 'calendar'"),
        whole_issues=whole_plan_issues)


Model = typing.TypeVar("Model", bound=BaseModel)


def parse_document(text: str, model: type[Model], source: str, *, what: str, hint: str,
                   context: dict | None = None,
                   whole_issues: Callable[[Model], list[Issue]] = lambda _: []) -> Model:
    """A YAML document read as `model`, every problem reported with its line, path and value;
    then `whole_issues` of the document read, the rules between its fields. The work is bounded
    by the text's size, checked first (MAX_PLAN_BYTES)."""
    size = _size(text)
    if size > MAX_PLAN_BYTES:
        raise PlanError([PlanIssue(path="", value="", line=None, message=(
            f"the {what} is {size:,} bytes; {_a(what)} is at most {MAX_PLAN_BYTES:,} bytes (5 MB; "
            "the state-scale example plan, 380 sites, is 65 kB)"))], source, what)
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Composer = _Composer
    yaml.Scanner = _Scanner
    yaml.document_kind = what  # for the composer's messages
    try:
        tree = yaml.load(text)
        if isinstance(tree, Mapping):
            lines: dict[Path, int] = {}
            data = _plain(tree, (), lines)
    except YAMLError as failure:
        raise PlanError([_syntax_issue(failure, text)], source, what) from None
    except RecursionError:  # the loader and _plain recurse once per level of nesting
        raise PlanError([PlanIssue(path="", value="", line=None, message=(
            f"the {what} is nested too deeply to read (hundreds of levels of lists or mappings); "
            f"{_a(what)} needs only a few"))], source, what) from None
    if not isinstance(tree, Mapping):
        kind = "empty" if tree is None else f"a {_kind(tree)}, not a mapping"
        raise PlanError([PlanIssue(path="", value="", line=1, message=(
            f"the {what} is {kind}; {hint}"))], source, what)
    try:
        document = model.model_validate(data, context=context)
    except ValidationError as failure:
        issues = [issue for error in failure.errors()
                  for issue in _issues(error, data, lines, model)]
        raise PlanError(sorted(issues, key=lambda i: i.line or 0), source, what) from None
    whole = [_issue(i.path, _show(i.value), i.message, lines) for i in whole_issues(document)]
    if whole:
        raise PlanError(sorted(whole, key=lambda i: i.line or 0), source, what)
    return document


def dump_plan(plan: Plan) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # one line per value: no folding, no trailing spaces
    yaml.representer.ignore_aliases = lambda _: True  # a date used twice is written twice
    out = io.StringIO()
    # The exit criteria's instruments are filled from the plan's own section: written once;
    # a stage without instrument thresholds is written without the empty list.
    data = plan.model_dump(mode="python", exclude_none=True, exclude={"exit_criteria": {"instruments"}})
    for rule in data["exit_criteria"].values():
        if isinstance(rule, dict) and rule.get("thresholds") == ():
            del rule["thresholds"]
    yaml.dump(_yamlable(data), out)
    return out.getvalue()


def _yamlable(value: object) -> object:
    if isinstance(value, Mapping):
        return {_yamlable(k): _yamlable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yamlable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _syntax_issue(failure: YAMLError, text: str) -> PlanIssue:
    mark = getattr(failure, "problem_mark", None) or getattr(failure, "context_mark", None)
    if isinstance(failure, MarkedYAMLError):
        message = "; ".join(p for p in (failure.context, failure.problem) if p)
    elif isinstance(failure, ReaderError) and isinstance(failure.position, int):
        line = text.count("\n", 0, failure.position) + 1
        return PlanIssue.of("", "", f"YAML syntax: character U+{failure.character:04X} is not "
                            f"allowed in YAML ({failure.reason})", line)
    else:
        message = str(failure).splitlines()[0]
    return PlanIssue.of("", "", f"YAML syntax: {message}", mark.line + 1 if mark else None)


def _plain(node: object, path: Path, lines: dict[Path, int]) -> object:
    """Plain Python data from ruamel's nodes, recording each key's and item's line."""
    if isinstance(node, Mapping):
        result = {}
        for key, value in node.items():
            _remember(lines, path + (key,), node, key)
            result[_plain_key(key)] = _plain(value, path + (key,), lines)
        return result
    if isinstance(node, (list, tuple)):  # a tuple: a sequence written as a key (`? [a, b]`)
        for i in range(len(node)):
            _remember(lines, path + (i,), node, i)
        return [_plain(item, path + (i,), lines) for i, item in enumerate(node)]
    if isinstance(node, ScalarBoolean):
        return bool(node)
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node if node is None else str(getattr(node, "value", node))


def _kind(node: object) -> str:
    """What a person wrote instead of a mapping, in YAML's words rather than the loader's types."""
    if isinstance(node, list):
        return "list"
    if isinstance(node, (bool, ScalarBoolean)):
        return "boolean"
    if isinstance(node, (int, float)):
        return "number"
    return "single text value" if isinstance(node, str) else type(node).__name__


def _plain_key(key: object) -> object:
    """A key as plain data; a complex key (`? {a: 1}`, `? [a, b]`) becomes its text, so it is
    reported as an unknown field instead of breaking the dictionary it is a key of."""
    plain = _plain(key, (), {})
    if isinstance(plain, int) and not isinstance(plain, bool) and plain.bit_length() > 64:
        return _huge(plain)  # Python will not write it out in decimal
    return _text(plain) if isinstance(plain, (dict, list)) else plain


def _text(value: object) -> str:
    """A complex key's text, with each huge integer in it described (`str` would raise)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return _huge(value)
    return repr(value)


def _remember(lines: dict[Path, int], path: Path, container: object, key: object) -> None:
    try:
        position = container.lc.key(key) if isinstance(container, Mapping) else container.lc.item(key)
    except (AttributeError, KeyError, IndexError, TypeError):
        return
    if position:  # a complex key's own items have no position
        lines[path] = position[0] + 1


def _issues(error: dict, data: object, lines: dict[Path, int],
            model: type[BaseModel] = Plan) -> list[PlanIssue]:
    base = _data_path(error["loc"], data)
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Invalid):
        return [_issue(base + i.path, _show(i.value), i.message, lines) for i in cause.issues]
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        base += (ctx.get("discriminator", "'kind'").strip("'"),)
    message = _message(kind, error["msg"], ctx, base, value, model)
    shown = "(missing)" if kind in ("missing", "union_tag_not_found") else _show(
        ctx.get("tag", value) if kind == "union_tag_invalid" else value)
    return [_issue(base, shown, message, lines)]


def _issue(path: Path, value: str, message: str, lines: dict[Path, int]) -> PlanIssue:
    line = next((lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in lines), None)
    return PlanIssue.of(format_path(path), value, message, line)


def _data_path(loc: tuple, data: object) -> Path:
    """Pydantic's `loc`, minus what is not in the document (union tags, '[key]' markers)."""
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


def _message(kind: str, msg: str, ctx: dict, path: Path, value: object,
             model: type[BaseModel] = Plan) -> str:
    name = path[-1] if path else ""
    if kind == "missing":
        return f"required field '{name}' is missing"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(name), _field_names(model), n=1, cutoff=0.7)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{name}'{hint}"
    if kind == "enum":
        return f"unknown value {_show(value)}; expected {ctx.get('expected')}"
    if kind == "union_tag_not_found" and model is Plan:
        return "a gate needs 'kind': one of immediate, date, share, decision"
    return msg.removeprefix("Value error, ")


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
    elif isinstance(value, int) and value.bit_length() > 64:
        text = _huge(value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _a(what: str) -> str:
    """"a plan", "an instrument definition"."""
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def _huge(number: int) -> str:
    return f"(an integer of about {int(number.bit_length() * 0.30103) + 1:,} digits)"


def _size(text: str) -> int:
    """The text's size in UTF-8 bytes (at least its length: then it is not encoded at all)."""
    if len(text) > MAX_PLAN_BYTES:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _printable(text: str) -> str:
    """`text` with each character a terminal would act on (a control, format or line-separator
    character) written as its Python escape; text without one is returned as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


@lru_cache(maxsize=8)
def _field_names(model: type[BaseModel] = Plan) -> tuple[str, ...]:
    """Every field name used anywhere in a document format, for 'did you mean' hints."""
    names: set[str] = set()
    pending, seen = [model], set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(name)
            pending += [t for t in _types_in(field.annotation)
                        if isinstance(t, type) and issubclass(t, BaseModel)]
    return tuple(sorted(names))


def _types_in(annotation: object) -> list[object]:
    found, args = [annotation], typing.get_args(annotation)
    for arg in args:
        found += _types_in(arg)
    return found
