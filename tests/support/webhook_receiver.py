"""A webhook endpoint for tests: a real HTTP server on loopback that checks every request's
Standard Webhooks signature with the `standardwebhooks` package and records what came."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import serve_app

# How the endpoint answers the nth request (from 1) to a path: a status, after a pause.
Answer = Callable[[int], Awaitable[int]]


@dataclass
class Received:
    path: str
    webhook_id: str
    signature: str
    body: dict[str, Any]
    # Which of the secrets known when it came verified its signature.
    verified_by: list[str]

    @property
    def seq(self) -> int:
        return int(self.body["data"]["seq"])


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Answer this path with a redirect to that URL (a 3xx status from `answers`).
    locations: dict[str, str] = field(default_factory=dict)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 20) -> None:  # noqa: ASYNC109
        """Until `check()` holds after a request (each one sets `arrived`)."""
        async with asyncio.timeout(timeout):
            while not check():
                await self.arrived.wait()
                self.arrived.clear()


async def _ok(_: int) -> int:
    return 200


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def endpoint(request: Request) -> Response:
        path = request.url.path
        number = receiver.counts.get(path, 0) + 1
        receiver.counts[path] = number
        raw = await request.body()
        headers = dict(request.headers)
        verified = []
        for secret in list(receiver.secrets):
            try:
                Webhook(secret).verify(raw, headers)
            except WebhookVerificationError:
                continue
            verified.append(secret)
        status = await receiver.answers.get(path, _ok)(number)
        if 200 <= status < 300:
            receiver.received.append(
                Received(
                    path=path,
                    webhook_id=headers.get("webhook-id", ""),
                    signature=headers.get("webhook-signature", ""),
                    body=json.loads(raw),
                    verified_by=verified,
                )
            )
        receiver.arrived.set()
        headers_out = {"location": receiver.locations[path]} if path in receiver.locations else {}
        return Response(
            b"x" * 5000, status_code=status, headers=headers_out
        )  # more than the sender reads

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])
    async with serve_app(app) as url:
        receiver.url = url
        yield receiver
