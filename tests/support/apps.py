"""Helpers for tests that need their own app (custom settings), a client IP, or the mail sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from asgi_lifespan import LifespanManager

from kai.app import create_app
from kai.config import Settings
from kai.services.shared import Services
from tests.support.graphql_client import GraphQLClient


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Any]:
    """The app on `settings`, started (lifespan) and stopped around the block."""
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@asynccontextmanager
async def client_at(app: Any, ip: str = "203.0.113.7") -> AsyncIterator[GraphQLClient]:
    """A GraphQL client whose requests come from the client address `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


def services_of(app: Any) -> Services:
    services: Services = app.state.services
    return services


@dataclass(frozen=True)
class SentMail:
    to: str
    subject: str
    body: str


@dataclass
class MailRecorder:
    """Stands in for the SMTP/log mailer behind the app's BackgroundMailer."""

    services: Services
    sent: list[SentMail] = field(default_factory=list)

    async def send(self, *, to: str, subject: str, body: str) -> None:
        self.sent.append(SentMail(to=to, subject=subject, body=body))

    async def delivered(self) -> list[SentMail]:
        """Every message sent so far, once the background sends have finished."""
        await self.services.mailer.drain()
        return list(self.sent)


def record_mail(app: Any) -> MailRecorder:
    services = services_of(app)
    recorder = MailRecorder(services)
    services.mailer.mailer = recorder
    return recorder


def link_in(body: str) -> str:
    """The one http(s) link in a message body."""
    links = [word for word in body.split() if word.startswith(("http://", "https://"))]
    assert len(links) == 1, body
    return links[0]


def token_of(link: str) -> str:
    tokens = parse_qs(urlsplit(link).query)["token"]
    assert len(tokens) == 1, link
    return tokens[0]
