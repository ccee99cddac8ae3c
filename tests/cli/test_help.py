"""Every `rollout` command, found by walking the app (so commands added later are covered too),
has `--help`; `rollout --help` lists every top-level command; and a bad argument or an unknown
option gets one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
NOT_A_NUMBER = "not-a-number"


def walk(command, path: tuple[str, ...] = ()):
    """(path, command) for the root, every group and every command below it."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from walk(sub, (*path, name))


ROOT = typer.main.get_command(app)
EVERYTHING = list(walk(ROOT))
COMMANDS = [(path, command) for path, command in EVERYTHING if not hasattr(command, "commands")]


def label(path: tuple[str, ...]) -> str:
    return " ".join(("rollout", *path))


def invoke(args: list[str]):
    return runner.invoke(app, args, env=WIDE)


def lines_of(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.strip()]


def test_the_walk_finds_the_command_tree():
    """The walk itself: groups and their commands, the operator commands among them."""
    found = {label(path) for path, _ in EVERYTHING}
    assert {"rollout plan validate", "rollout audit verify", "rollout up", "rollout start",
            "rollout status", "rollout pause", "rollout resume", "rollout cancel",
            "rollout decisions", "rollout decide", "rollout cohorts", "rollout cohort open"} <= found
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("path", [p for p, _ in EVERYTHING], ids=[label(p) for p, _ in EVERYTHING])
def test_every_command_and_group_has_help(path):
    result = invoke([*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: {label(path)}" in result.output
    command = dict(EVERYTHING)[path]
    assert (command.help or command.short_help or "").strip(), f"{label(path)} says nothing about itself"


def test_rollout_help_lists_every_top_level_command():
    result = invoke(["--help"])
    assert result.exit_code == 0
    listed = {line.strip("│ ").split(" ")[0] for line in result.output.splitlines()}
    for name, command in ROOT.commands.items():
        if not command.hidden:
            assert name in listed, f"`rollout --help` does not list {name}"


@pytest.mark.parametrize("path", [p for p, _ in EVERYTHING], ids=[label(p) for p, _ in EVERYTHING])
def test_an_unknown_option_is_one_line(path):
    result = invoke([*path, "--no-such-option"])
    assert result.exit_code == 2
    assert lines_of(result) == [
        f"{label(path)}: No such option: --no-such-option. See `{label(path)} --help`."]


REQUIRING = [(p, c) for p, c in COMMANDS if any(param.required for param in c.params)]


@pytest.mark.parametrize("path", [p for p, _ in REQUIRING], ids=[label(p) for p, _ in REQUIRING])
def test_a_missing_argument_is_one_line(path):
    result = invoke(list(path))
    assert result.exit_code == 2, result.output
    [line] = lines_of(result)
    assert line.startswith(f"{label(path)}: Missing ") and "Traceback" not in result.output


def numeric_option(command):
    for param in command.params:
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if param.param_type_name == "option" and annotation in (int, float):
            return param.opts[0]
    return None


NUMERIC = [(p, numeric_option(c)) for p, c in COMMANDS if numeric_option(c)]


@pytest.mark.parametrize("path,option", NUMERIC, ids=[label(p) for p, _ in NUMERIC])
def test_a_bad_value_is_one_line_naming_the_option(path, option):
    result = invoke([*path, option, NOT_A_NUMBER])
    assert result.exit_code == 2, result.output
    [line] = lines_of(result)
    assert line.startswith(f"{label(path)}: Invalid value for '{option}'") and "Traceback" not in line


def test_an_unknown_command_is_one_line():
    result = invoke(["no-such-command"])
    assert result.exit_code == 2
    assert lines_of(result) == ["rollout: No such command 'no-such-command'. See `rollout --help`."]
