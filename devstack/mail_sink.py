"""A local mail sink: a real SMTP server (aiosmtpd) on loopback that keeps every message it is
given as an .eml file, so the mail districts would get can be read on this machine.

`rollout up` and `rollout demo` run one under var/mail and point the workers at it; `rollout mail`
lists what arrived. Every arrival is kept, a repeat too: `mailbox` groups arrivals by Message-ID
and counts the copies, so a message sent twice shows once, with "2 copies".

    with MailSink(folder) as sink:        # listens on a free port of 127.0.0.1
        env = sink.env()                  # ROLLOUT_SMTP_HOST / ROLLOUT_SMTP_PORT for the workers
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Callable

from aiosmtpd.controller import Controller

from devstack.ports import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Arrival:
    """One message as the sink received it."""

    path: Path
    message_id: str
    to: str
    subject: str
    date: str
    notification_id: str


@dataclass(frozen=True)
class Mail:
    """A message as a reader sees it: its first arrival and how many copies came."""

    first: Arrival
    copies: int


class _KeepEach:
    """aiosmtpd handler: write each message to the folder (atomically: a reader never sees half)."""

    def __init__(self, folder: Path, on_arrival: Callable[[int], None] | None) -> None:
        self.folder, self.on_arrival = folder, on_arrival
        self.count = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            number = next(self.count)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{number:06d}.eml"
        part = self.folder / f".{name}.part"
        part.write_bytes(envelope.original_content or envelope.content)
        part.replace(self.folder / name)
        if self.on_arrival is not None:
            self.on_arrival(number)  # while the sender still waits for the reply
        return "250 Message accepted for delivery"


class MailSink:
    def __init__(self, folder: Path, port: int | None = None, *,
                 on_arrival: Callable[[int], None] | None = None) -> None:
        """`on_arrival(n)` runs when the n-th message is kept and before the sender hears that it
        was accepted (tests use it to break things at that very moment)."""
        self.folder = Path(folder)
        self.port = port
        self.on_arrival = on_arrival
        self._controller: Controller | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        """What a worker needs to send here (no login, no TLS: loopback only)."""
        return {"ROLLOUT_SMTP_HOST": HOST, "ROLLOUT_SMTP_PORT": str(self.port),
                "ROLLOUT_SMTP_STARTTLS": "false"}

    def start(self) -> "MailSink":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._controller = Controller(_KeepEach(self.folder, self.on_arrival), hostname=HOST, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "MailSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def arrivals(folder: Path) -> list[Arrival]:
    """Every message in the folder, oldest first."""
    found = []
    for path in sorted(Path(folder).glob("*.eml")):
        with path.open("rb") as f:
            headers = BytesParser(policy=policy.default).parse(f, headersonly=True)
        found.append(Arrival(path, str(headers.get("Message-ID", "")), str(headers.get("To", "")),
                             str(headers.get("Subject", "")), str(headers.get("Date", "")),
                             str(headers.get("X-Rollout-Notification", ""))))
    return found


def mailbox(folder: Path) -> list[Mail]:
    """The messages in the folder, one per Message-ID (a repeat counted, not listed twice)."""
    groups: dict[str, list[Arrival]] = {}
    for arrival in arrivals(folder):
        groups.setdefault(arrival.message_id or str(arrival.path), []).append(arrival)
    return [Mail(first=group[0], copies=len(group)) for group in groups.values()]
