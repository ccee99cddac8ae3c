"""The `rollout` entry point. Each command group lives in its own module and registers itself
here, so adding a group (demo, start, ...) is one import and one line in `_GROUPS`."""

from __future__ import annotations

from cli import (
    audit_commands, board_command, decision_commands, demo_command, import_commands,
    mail_commands, ops_commands, plan_commands, projection_commands, report_command,
    ssip_commands, task_commands, token_commands,
)
from cli.app_exit import RolloutApp
from cli.usage_errors import OneLineErrors

app = RolloutApp(
    name="rollout", cls=OneLineErrors, no_args_is_help=True, add_completion=False,
    help="Staged rollouts of evidence-based initiatives across a state's districts (SSIP Phase III).")

_GROUPS = (ops_commands, decision_commands, demo_command, plan_commands, task_commands,
           board_command, report_command, audit_commands, projection_commands, token_commands,
           import_commands, mail_commands, ssip_commands)

for group in _GROUPS:
    group.register(app)


@app.callback()
def main() -> None:
    """Staged rollouts of evidence-based initiatives across a state's districts (SSIP Phase III)."""


if __name__ == "__main__":
    app()
