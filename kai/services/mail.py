"""Outgoing mail: SMTP with aiosmtplib when KAI_SMTP_URL is set, else the server log."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    """Development: the message (a magic link, say) is written to the server log."""

    async def send(self, *, to: str, subject: str, body: str) -> None:
        log.warning("mail to %s (KAI_SMTP_URL unset, not sent): %s\n%s", to, subject, body)


class SmtpMailer:
    """`smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465` (TLS)."""

    def __init__(self, url: str, sender: str):
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("KAI_SMTP_URL must look like smtp://user:pass@host:port")
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._tls else 587)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender

    async def send(self, *, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._tls,
            timeout=30,
        )


class BackgroundMailer:
    """Sends after the response, so its timing says nothing about the address (A4).

    `mailer` sends each message; it may be replaced while running (tests record mail so)."""

    def __init__(self, mailer: Mailer):
        self.mailer = mailer
        self._tasks: set[asyncio.Task[None]] = set()

    def send_later(self, *, to: str, subject: str, body: str) -> None:
        task = asyncio.create_task(self._send(to=to, subject=subject, body=body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, *, to: str, subject: str, body: str) -> None:
        try:
            await self.mailer.send(to=to, subject=subject, body=body)
        except Exception:
            log.exception("could not send mail to %s", to)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def build_mailer(smtp_url: str | None, sender: str) -> BackgroundMailer:
    return BackgroundMailer(SmtpMailer(smtp_url, sender) if smtp_url else LogMailer())
