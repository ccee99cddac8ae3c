"""How the `rollout` process ends once a command has finished.

The Temporal SDK's Rust threads can abort the interpreter's final teardown ("Fatal Python error:
PyGILState_Release ... finalizing", exit 134; temporalio/sdk-python#300, still open), turning a
finished command into a crash. So the program, after the command, its output and the `atexit`
handlers are done, leaves with `os._exit` and the command's own exit code. Only the installed
program does this: tests call the click command directly and never reach `__call__`.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer

from runtime.process_exit import leave


class RolloutApp(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        try:
            super().__call__(*args, **kwargs)
            code: object = 0
        except SystemExit as done:
            code = done.code
        leave(code)
