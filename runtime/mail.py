"""The mail channel of the outbox: each notification to its team's address, through a real SMTP
server (ROLLOUT_SMTP_*), with aiosmtplib.

Every send of one notification carries the same Message-ID, derived from the notification id, and
an `X-Rollout-Notification` header naming it; a send that follows an uncertain one (store/outbox.py
says when) also carries `X-Rollout-Resent`. So a repeat can always be told from a new message.
A recipient without an address (store/notification_addresses.py) gets no mail: the in-app feed
still has the notification. One connection serves a dispatch round; `close` ends it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from datetime import datetime, timezone

import aiosmtplib
import asyncpg
import structlog

from runtime.settings import Settings
from store.notification_addresses import address_of
from store.outbox import Notification, UncertainDelivery

log = structlog.get_logger("mail")
TIMEOUT_S = 20.0
"""Per SMTP command: well inside the outbox's send budget."""
SENDER_NAME = "Staged rollouts"


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int = 25
    sender: str = "rollouts@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "MailServer | None":
        """The configured server, or None when mail is not configured."""
        if not settings.smtp_host:
            return None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.smtp_user,
                   settings.smtp_password, settings.smtp_starttls)


def message_id(notification_id: str, sender: str) -> str:
    """The same for every send of one notification, unique across notifications."""
    domain = sender.rpartition("@")[2] or "rollouts.invalid"
    return f"<{hashlib.sha256(notification_id.encode()).hexdigest()[:40]}@{domain}>"


def compose(notification: Notification, to: str, sender: str,
            now: datetime | None = None) -> EmailMessage:
    n = notification
    mail = EmailMessage()
    mail["From"] = formataddr((SENDER_NAME, sender))
    mail["To"] = to
    mail["Subject"] = n.subject
    mail["Date"] = format_datetime(now or datetime.now(timezone.utc))
    mail["Message-ID"] = message_id(n.notification_id, sender)
    mail["X-Rollout-Notification"] = n.notification_id
    mail["X-Rollout-Recipient"] = n.recipient
    if n.uncertain:
        mail["X-Rollout-Resent"] = "an earlier send of this message may have arrived"
    mail.set_content(f"{n.body}\n\n-- \nStaged rollouts: a notification for {n.recipient}. "
                     "Your notifications are also in the application, under Notifications.\n")
    return mail


class MailChannel:
    """Deliver a notification by mail to its recipient's address, or skip it when there is none."""

    def __init__(self, pool: asyncpg.Pool, server: MailServer) -> None:
        self.pool, self.server = pool, server
        self._smtp: aiosmtplib.SMTP | None = None
        self.sent = 0

    async def deliver(self, notification: Notification) -> None:
        to = await address_of(self.pool, notification.recipient)
        if to is None:
            return
        mail = compose(notification, to, self.server.sender)
        smtp = await self._connected()
        try:
            await smtp.mail(self.server.sender)
            await smtp.rcpt(to)
        except aiosmtplib.SMTPException:
            await self.close()
            raise
        try:
            await smtp.data(mail.as_bytes(policy=SMTP_POLICY))
        except aiosmtplib.SMTPResponseException:
            await self.close()  # the server answered no: nothing was taken
            raise
        except (aiosmtplib.SMTPException, OSError) as lost:
            await self.close()
            raise UncertainDelivery(f"the connection was lost during DATA: {lost}") from lost
        self.sent += 1
        log.debug("mail sent", notification_id=notification.notification_id, to=to)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            s = self.server
            smtp = aiosmtplib.SMTP(hostname=s.host, port=s.port, username=s.user,
                                   password=s.password, start_tls=s.starttls, timeout=TIMEOUT_S)
            await smtp.connect()
            self._smtp = smtp
        return self._smtp

    async def close(self) -> None:
        """End the connection (politely when it still stands)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()
