"""Generated plan files: the shipped examples/small.yaml, broken in the ways people and editors
break YAML (keys dropped, duplicated or retyped, impossible dates, unknown sites, bad exit
criteria, stray scalars and unicode, deep nesting, a list or scalar where the mapping belongs,
text that is not YAML at all) and in the ways an attacker would (control characters in names,
aliases of aliases, numbers of thousands of digits, values and tags the YAML library fails on)
or a hurried author would (a percentage written as a fraction, a gate date outside the school
years), plus a few that stay valid.

Structural mutations edit the parsed document and dump it again; textual ones edit the text, so
that syntax errors, duplicate keys and complex keys reach the loader as a person would write them.
"""

from __future__ import annotations

import copy
import io
import re
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.plan.examples import small_text

Path = tuple[Any, ...]

SAFE = YAML(typ="safe")
SMALL_TEXT = small_text()
SMALL = SAFE.load(SMALL_TEXT)
ONE_YEAR_TEXT = SMALL_TEXT[:SMALL_TEXT.index("    - name: 2027-28")] + \
    SMALL_TEXT[SMALL_TEXT.index("\napprovals:"):]
ONE_YEAR = {**copy.deepcopy(SMALL), "calendar": {"years": SMALL["calendar"]["years"][:1]}}
BASES = (ONE_YEAR,)
"""The example with one school year: as valid, and quicker to load, so more cases fit the time
(the whole example is still among the texts mutated, and loaded as it is)."""
DATE_PATHS = ("start", "end", "on")
SITE_IDS = [site["id"] for site in SMALL["sites"]]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-5, 500),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", " ", "III", "North", "district", "school", "Full Implementation", "immediate",
                     "decision", "2026-08-17", "yes", "~", "0x1F", "1e400", "-0"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
bad_dates = st.one_of(
    st.sampled_from(["2026-02-30", "2027-13-01", "2026-00-10", "2026-8-17", "17/08/2026", "tomorrow",
                     "2026-08-17T25:00:00", "0000-01-01", "9999-12-31", "2026-06-31"]),
    st.dates().map(lambda d: d.isoformat()), st.dates(), st.integers(), st.text(max_size=12))
slugs = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)


def _paths(node: Any, path: Path = ()) -> list[Path]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, path + (index,))
    return found


def _parent(tree: Any, path: Path) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _dump(tree: Any) -> str:
    out = io.StringIO()
    SAFE.dump(tree, out)
    return out.getvalue()


@st.composite
def _structural(draw) -> str:
    """The example with one to three of its nodes dropped, retyped, misdated or misreferenced."""
    tree = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(tree) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(tree, path), path[-1]
        how = draw(st.sampled_from(["drop", "retype", "date", "site", "criteria", "extra", "swap"]))
        if how == "drop":
            del parent[key]
        elif how == "retype":
            parent[key] = draw(values)
        elif how == "date":
            dated = [p for p in _paths(tree) if p and p[-1] in DATE_PATHS]
            if dated:
                target = draw(st.sampled_from(dated))
                _parent(tree, target)[target[-1]] = draw(bad_dates)
        elif how == "site":
            _unknown_site(draw, tree)
        elif how == "criteria":
            tree["exit_criteria"] = draw(st.dictionaries(
                st.one_of(st.sampled_from(["exploration", "installation", "initial_implementation",
                                           "full_implementation", "Exploration", "graduation"]),
                          st.text(max_size=10)),
                st.one_of(values, st.dictionaries(
                    st.sampled_from(["readiness_mean_min", "fidelity_min_percent",
                                     "consecutive_assessments", "capacity_min", "speed"]),
                    scalars, max_size=3)), max_size=4))
        elif how == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif how == "swap":
            other = draw(st.sampled_from(paths))
            if other != path and path[:len(other)] != other and other[:len(path)] != path:
                other_parent = _parent(tree, other)
                parent[key], other_parent[other[-1]] = other_parent[other[-1]], parent[key]
    return _dump(tree)


def _unknown_site(draw, tree: dict) -> None:
    stranger = draw(st.one_of(slugs, st.text(max_size=15), st.integers()))
    where = draw(st.sampled_from(["member", "district", "duplicate"]))
    cohorts = tree.get("cohorts")
    sites = tree.get("sites")
    if where == "member" and isinstance(cohorts, list) and cohorts and isinstance(cohorts[0], dict) \
            and isinstance(cohorts[0].get("members"), list):
        cohorts[0]["members"].append(stranger)
    elif where == "district" and isinstance(sites, list) and isinstance(sites[-1], dict):
        sites[-1]["district"] = stranger
    elif isinstance(sites, list) and sites:
        sites.append(copy.deepcopy(sites[0]))


@st.composite
def _textual(draw) -> str:
    """The example's text with characters inserted, removed or replaced, lines duplicated, or a
    complex key, a deeply nested value or a tab put in."""
    text = draw(st.sampled_from([ONE_YEAR_TEXT, ONE_YEAR_TEXT, ONE_YEAR_TEXT, SMALL_TEXT]))
    lines = text.splitlines(keepends=True)
    how = draw(st.sampled_from(["edit", "duplicate line", "complex key", "deep", "tab", "anchor",
                                "hostile", "hostile"]))
    if how == "hostile":
        return _hostile(draw, text)
    if how == "edit":
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(0, len(text)))
            end = draw(st.integers(start, min(len(text), start + 40)))
            piece = draw(st.one_of(st.text(max_size=8), st.sampled_from(
                [":", "- ", "  ", "\t", "'", '"', "{", "[", "}", "]", "&a", "*a", "!!int ", "%", "#",
                 "\n", "\n  - x\n", "? ", "|", ">", "@", "`", "\ufeff"])))
            text = text[:start] + piece + text[end:]
        return text
    if how == "duplicate line":
        index = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:index + 1] + [lines[index]] + lines[index + 1:])
    if how == "complex key":
        key = draw(st.sampled_from(["? {a: 1}\n: x\n", "? [a, b]\n: x\n", "? !!set {a}\n: y\n",
                                    "{x: 1}: 2\n", "[1, 2]: 3\n", "null: 1\n", "1: 2\n", "2026-01-01: x\n",
                                    "? [1, 0o" + "7" * 6000 + "]\n: x\n"]))
        return key + text if draw(st.booleans()) else text + key
    if how == "deep":
        depth = draw(st.integers(10, 3000))
        open_, close = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
        nested = open_ * depth + "1" + close * depth if close else \
            "".join(f"{'  ' * i}- \n" for i in range(min(depth, 300))) + "  " * min(depth, 300) + "1\n"
        return text + "\nextra: " + nested + "\n" if close else text + "\nextra:\n" + nested
    if how == "tab":
        index = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:index] + ["\t" + lines[index]] + lines[index + 1:])
    return text + "\nalias_bomb: &a [1, 2]\nmore: [*a, *a, *a, *b]\n"


NAME_LINE = re.compile(r"^(\s*(?:- )?(?:name|title|region): ).+$", re.MULTILINE)
ESCAPES = ["\\0", "\\a", "\\e", "\\x7f", "\\N", "\\L", "\\u202e", "\\u200b", "\\ufeff", "\\t"]
"""YAML escapes of control and format characters, written in double-quoted names."""


UNREADABLE = ['"North\\U00110000"', '"\\UFFFFFFFF"', "0x_", "+0b_", "-0o_", "!!bool x", "!!omap x",
              "!!set {a}", "!!binary aGk=", "!!timestamp 2026-08-17", "!local 4", "!!int 12.5",
              "!!float x", "!!python/object:os.system x"]
"""Values the YAML library fails on with its own Python errors (ValueError, KeyError,
IndexError, AttributeError) unless the loader catches them, and tags a plan has no use for."""


def _hostile(draw, text: str) -> str:
    how = draw(st.sampled_from(["control", "laughs", "huge number", "fraction", "gate date",
                                "unreadable"]))
    if how == "unreadable":
        lines = list(NAME_LINE.finditer(text)) + list(re.finditer(r"^(\s*practitioners: ).+$", text,
                                                                  re.MULTILINE))
        line = lines[draw(st.integers(0, len(lines) - 1))]
        return text[:line.start()] + line.group(1) + draw(st.sampled_from(UNREADABLE)) + \
            text[line.end():]
    if how == "control":
        lines = list(NAME_LINE.finditer(text))
        line = lines[draw(st.integers(0, len(lines) - 1))]
        escape = draw(st.sampled_from(ESCAPES))
        value = f'"Lake{escape}view"' if draw(st.booleans()) else "Lake\u202eview"
        return text[:line.start()] + line.group(1) + value + text[line.end():]
    if how == "laughs":
        levels, width = draw(st.integers(2, 8)), draw(st.integers(2, 9))
        bomb = ["lol: &a0 [" + ", ".join(["lol"] * width) + "]"] + [
            f"l{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)]
        return text + "\n" + "\n".join(bomb) + "\n"
    if how == "huge number":
        digits = draw(st.sampled_from(["9" * 5000, "0o" + "7" * 6000, "0x" + "f" * 4000, "1" * 4300]))
        return text.replace("practitioners: 42", f"practitioners: {digits}", 1)
    if how == "fraction":
        fraction = draw(st.sampled_from(["0.6", "0.5", "0.99", "0.05", "1", "0"]))
        return text.replace("fidelity_min_percent: 50", f"fidelity_min_percent: {fraction}", 1)
    day = draw(st.dates())
    return text.replace("      kind: immediate\n", f"      kind: date\n      on: {day}\n", 1)


_roots = st.one_of(
    st.lists(values, max_size=4), scalars,
    st.sampled_from([[SMALL["initiative"]], SMALL["sites"], "initiative", 0, None]))
non_mapping_roots = _roots.map(_dump)
yamlish_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list(":-[]{}'\"\n #&*!|>?%@`\t,abc1")), max_size=120),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)
deep_roots = st.integers(10, 5000).flatmap(lambda depth: st.sampled_from([
    "[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth, "- " * depth + "x"]))

plan_texts = st.one_of(
    _structural(), _structural(), _structural(), _textual(), _textual(), non_mapping_roots,
    yamlish_text, deep_roots, st.just(SMALL_TEXT), st.just(_dump(ONE_YEAR)),
)
"""Any of the above; structural and textual mutations of the example are the most frequent."""
