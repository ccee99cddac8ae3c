"""Command-line mistakes (an unknown option, a missing or bad argument) as one line on stderr.

click and typer print a usage line, a hint and a boxed message; an operator reading a log, or a
script checking stderr, gets the one sentence that matters instead, naming the command and the
way to its help. Exit codes stay click's (2 for usage errors).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup


class OneLineErrors(TyperGroup):
    """The root group of `rollout`: every command's parsing happens under its `main`."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as problem:  # typer's (vendored) click exceptions
            if type(problem).__name__ == "NoArgsIsHelpError":
                _exit(problem.exit_code)  # it has printed the help already
            ctx = getattr(problem, "ctx", None)
            if ctx is None:
                _exit(problem.exit_code, _sentence(problem.format_message()))
            _exit(problem.exit_code, f"{ctx.command_path}: {_sentence(problem.format_message())} "
                                     f"See `{ctx.command_path} --help`.")
        except typer.Abort:
            _exit(1, "Aborted.")
        _exit(result if isinstance(result, int) else 0)


def _sentence(message: str) -> str:
    text = " ".join(message.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _exit(code: int, message: str | None = None) -> NoReturn:
    if message:
        typer.echo(message, err=True)
    sys.exit(code)
