"""Leaving a process that used the Temporal client without the SDK's teardown crash.

The SDK's Rust threads can abort the interpreter's final teardown ("Fatal Python error:
PyGILState_Release ... finalizing", exit 134; temporalio/sdk-python#300), turning a finished
program into a crash. `leave` runs the atexit handlers, flushes output and exits with os._exit.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def leave(code: object) -> NoReturn:
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
