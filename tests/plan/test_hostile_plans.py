"""Plan files that hurt (issue 18, finding 4): aliases of aliases ("billion laughs"), files over
the size limit, numbers the loader cannot convert, and control characters in a plan's names and
ids. Each is refused with exit 2 and one line naming the problem, by `rollout plan validate` and
by `rollout start` alike, before the work it would cause (the refusals assert that the expansion,
the parsing, or the reading of the rest never happened; the times are printed, not asserted)."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from typer.testing import CliRunner

from cli.main import app
from cli.plan_commands import PlanFileError, read_plan_text
from domain import plan_yaml
from domain.plan import Plan
from domain.plan_yaml import MAX_PLAN_BYTES, PlanError, dump_plan, parse_plan
from tests.plan.examples import line_of, replace_once, small_text

runner = CliRunner()


def laughs(levels: int, width: int = 9) -> str:
    """The classic: each level a list of `width` aliases of the level below; `levels` levels
    stand for width**levels values in a few hundred bytes."""
    lines = ["lol: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def cli(*args: str):
    """`rollout ...` in-process; (exit code, everything printed, seconds taken)."""
    started = time.perf_counter()
    result = runner.invoke(app, list(args), env={"COLUMNS": "200",
                                                 "ROLLOUT_TEMPORAL_ADDRESS": "127.0.0.1:9"})
    said = result.output + (result.stderr if result.stderr_bytes else "")
    return result.exit_code, said, time.perf_counter() - started


def refused_by_both_commands(path: Path, *fragments: str) -> list[float]:
    """`rollout plan validate` and `rollout start` exit 2 naming the problem, never a traceback;
    start stops before it reaches any server (its Temporal address leads nowhere)."""
    seconds = []
    for command in (["plan", "validate", str(path)], ["start", str(path), "--as", "ann.admin"]):
        code, said, took = cli(*command)
        assert code == 2, said
        assert "Traceback" not in said and "cannot be reached" not in said, said
        for fragment in fragments:
            assert fragment in said, said
        seconds.append(took)
    return seconds


def test_aliases_are_refused_where_they_appear_before_anything_is_built(monkeypatch):
    def expanded(*_):
        raise AssertionError("the aliases were expanded")
    monkeypatch.setattr(plan_yaml, "_plain", expanded)
    with pytest.raises(PlanError) as refused:
        parse_plan(laughs(6), source="laughs.yaml")
    (issue,) = refused.value.errors
    assert issue.line == 1 and "anchors and aliases are not allowed in a plan (&a0)" in issue.message


def test_an_alias_in_an_otherwise_valid_plan_is_refused_at_its_line():
    text = replace_once(small_text(), "    region: South\n    practitioners: 35",
                        "    region: &south South\n    practitioners: 35")
    text = replace_once(text, "    region: South\n    district: prairie-ridge-sd",
                        "    region: *south\n    district: prairie-ridge-sd")
    with pytest.raises(PlanError) as refused:
        parse_plan(text)
    (issue,) = refused.value.errors
    assert issue.line == line_of(text, "&south") and "(&south)" in issue.message


def test_the_billion_laughs_plan_exits_2_with_one_line_naming_the_problem(tmp_path):
    bomb = tmp_path / "laughs.yaml"
    bomb.write_text(laughs(10))  # 10**9 values (the published attack)
    seconds = refused_by_both_commands(bomb, "1 problem", "anchors and aliases are not allowed")
    _, said, _ = cli("plan", "validate", str(bomb))
    assert len([line for line in said.splitlines() if "anchors and aliases" in line]) == 1
    print(f"billion laughs refused: plan validate {seconds[0]:.3f} s, start {seconds[1]:.3f} s "
          "(in-process, after imports)")


def test_a_plan_over_the_size_limit_is_refused_before_it_is_parsed(monkeypatch):
    def parsed(*_):
        raise AssertionError("the plan was parsed")
    monkeypatch.setattr(YAML, "load", parsed)
    text = "# " + "x" * MAX_PLAN_BYTES + "\n"
    with pytest.raises(PlanError) as refused:
        parse_plan(text)
    (issue,) = refused.value.errors
    assert f"{len(text.encode()):,} bytes; a plan is at most 5,000,000 bytes (5 MB" in issue.message
    multibyte = "# " + "é" * (MAX_PLAN_BYTES // 2) + "\n"  # fewer characters than bytes
    with pytest.raises(PlanError, match="a plan is at most"):
        parse_plan(multibyte)


def test_a_plan_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(2 * MAX_PLAN_BYTES)  # 10 MB (sparse)
    with pytest.raises(PlanFileError, match=r"it is 10,000,000 bytes; a plan file is at most "
                                            r"5,000,000 bytes \(5 MB\)"):
        read_plan_text(big)
    refused_by_both_commands(big, "10,000,000 bytes", "at most 5,000,000 bytes")


def test_a_plan_file_without_a_size_is_read_only_up_to_the_limit(tmp_path):
    """A pipe or a device reports no size: at most the limit and one byte are read."""
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    written = []

    def endless() -> None:  # far more than the limit, until the reader hangs up
        try:
            with open(fifo, "wb") as out:
                while True:
                    out.write(b"#" * 65536)
                    written.append(65536)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    with pytest.raises(PlanFileError, match="it is over that; a plan file is at most"):
        read_plan_text(fifo)
    writer.join(timeout=30)
    assert not writer.is_alive() and sum(written) < 2 * MAX_PLAN_BYTES


UNREADABLE = [
    ("practitioners: " + "9" * 5000, "practitioners: 999",
     "9999... as int: Exceeds the limit (4300 digits) for integer string conversion: value has "
     "5000 digits"),
    ("practitioners: !!int 12.5", "!!int 12.5", "cannot read '12.5' as int: invalid literal"),
    ("practitioners: 0o" + "7" * 6000, "practitioners: 0o777", "(an integer of about 5,419 digits)"),
    # the fuzz's finds: the library's own errors (ValueError, OverflowError, KeyError, IndexError,
    # AttributeError) escaped the loader as tracebacks
    ('region: "North\\U00110000"', "North\\U0011", "the escape \\U00110000 names no character"),
    ('region: "North\\UFFFFFFFF"', "North\\UFFFF", "the escape \\UFFFFFFFF names no character"),
    ("practitioners: 0x_", "0x_", "cannot read '0x_' as int"),
    ("practitioners: +0b_", "+0b_", "cannot read '+0b_' as int"),
    ("practitioners: !!bool x", "!!bool x", "cannot read 'x' as bool"),
    ("practitioners: !!omap x", "!!omap x", "the tag !!omap is not allowed in a plan"),
    ("practitioners: !!set {a}", "!!set {a}", "the tag !!set is not allowed in a plan"),
    ("practitioners: !!binary aGk=", "!!binary", "the tag !!binary is not allowed in a plan"),
    ("practitioners: !local 4", "!local 4", "the tag !local is not allowed in a plan"),
]


@pytest.mark.parametrize("new, line_needle, words", UNREADABLE,
                         ids=[f"{n}-{new[:28]}" for n, (new, _, _) in enumerate(UNREADABLE)])
def test_a_value_the_loader_cannot_read_is_a_problem_at_its_line(new, line_needle, words):
    """The first site's region or practitioners replaced by `new`."""
    old = "region: North\n    practitioners: 42"
    replaced = "practitioners: 42" if new.startswith("practitioners") else "region: North"
    text = replace_once(small_text(), old, old.replace(replaced, new))
    with pytest.raises(PlanError) as refused:
        parse_plan(text)
    (issue,) = refused.value.errors
    assert issue.line == line_of(text, line_needle) and words in str(issue), str(issue)


def test_a_key_written_as_a_list_holding_a_huge_integer_is_an_unknown_field():
    """`str` of a list holding an integer of over 4,300 digits raises ValueError; the key is
    described instead."""
    text = "? [1, 0o" + "7" * 6000 + "]\n: x\n" + small_text()
    with pytest.raises(PlanError) as refused:
        parse_plan(text)
    (issue,) = refused.value.errors
    assert issue.message == \
        "unknown field '[1, (an integer of about 5,419 digits)]'", str(issue)


FIELDS = [("initiative", "id"), ("initiative", "name"), ("initiative", "practice", "name"),
          ("initiative", "ssip", "simr"), ("initiative", "practice", "fidelity_criterion"),
          ("sites", 1, "id"), ("sites", 1, "name"), ("sites", 1, "region"), ("cohorts", 0, "id"),
          ("cohorts", 0, "name"), ("pd", "trainers", 0, "id"), ("pd", "trainers", 0, "name"),
          ("pd", "sessions", "Installation", 0, "title"), ("calendar", "years", 0, "name"),
          ("calendar", "years", 0, "breaks", 1, "name")]
CHARACTERS = {"NUL": "\x00", "BEL": "\x07", "ESC": "\x1b", "NEL": "\x85",
              "RIGHT-TO-LEFT OVERRIDE": "\u202e", "ZERO WIDTH SPACE": "\u200b",
              "LINE SEPARATOR": "\u2028"}


def edited(path: tuple, value: str) -> str:
    """The small example with the text at `path` replaced, written out by the YAML library as a
    double-quoted string (so a control character is written as an escape: `"Lakeview\\a-sd"`)."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    tree = yaml.load(small_text())
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = DoubleQuotedScalarString(value)
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@pytest.mark.parametrize("path", FIELDS, ids=dotted)
@pytest.mark.parametrize("name", CHARACTERS)
def test_a_control_character_in_any_name_or_id_is_refused_naming_the_field(path, name):
    text = edited(path, f"Lakeview{CHARACTERS[name]}-sd")
    with pytest.raises(PlanError) as refused:
        parse_plan(text)
    named = [i for i in refused.value.errors if i.path == dotted(path)]
    assert named, str(refused.value)
    if not path[-1] == "id":  # an id is a slug: the slug rule names it first
        assert name in named[0].message or "U+" in named[0].message, named[0]
    assert all(c not in str(refused.value) for c in CHARACTERS.values()), \
        "the character is written as an escape, never printed as it is"


@pytest.mark.parametrize("name", ["NUL", "BEL", "RIGHT-TO-LEFT OVERRIDE"])
def test_both_commands_refuse_a_site_named_with_a_control_character(tmp_path, name):
    plan = tmp_path / "plan.yaml"
    plan.write_text(edited(("sites", 1, "name"), f"Lakeview{CHARACTERS[name]} USD"), encoding="utf-8")
    refused_by_both_commands(plan, "1 problem", "sites[1].name", f"({name})")


def test_prose_keeps_its_line_breaks_and_tabs():
    text = edited(("initiative", "ssip", "simr"), "Increase proficiency.\n\tSecond line.\n")
    assert parse_plan(text).initiative.ssip.simr.startswith("Increase proficiency.\n\tSecond")


def test_a_plan_using_one_date_object_twice_is_written_without_aliases_and_read_back():
    """dump_plan writes each value out: YAML would otherwise anchor a date object the plan uses
    twice, and parse_plan refuses anchors."""
    data = parse_plan(small_text()).model_dump(mode="python")
    day = data["calendar"]["years"][0]["breaks"][0]["start"]
    data["calendar"]["years"][0]["breaks"][0]["end"] = day
    data["calendar"]["years"][0]["blackout_dates"].append(day)
    plan = Plan.model_validate(data)
    text = dump_plan(plan)
    assert "&" not in text and "*id" not in text
    assert parse_plan(text) == plan
