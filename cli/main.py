"""The `rollout` entry point. Each command group lives in its own module and registers itself
here, so adding a group (demo, start, ...) is one import and one line in `_GROUPS`."""

from __future__ import annotations

import typer

from cli import audit_commands, board_command, demo_command, plan_commands, projection_commands

app = typer.Typer(
    name="rollout", no_args_is_help=True, add_completion=False,
    help="Staged rollouts of evidence-based initiatives across a state's districts (SSIP Phase III).")

_GROUPS = (plan_commands, demo_command, board_command, audit_commands, projection_commands)

for group in _GROUPS:
    group.register(app)


@app.callback()
def main() -> None:
    """Staged rollouts of evidence-based initiatives across a state's districts (SSIP Phase III)."""


if __name__ == "__main__":
    app()
