"""A graphql-sse client (distinct connections mode) over real HTTP, for tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from kai.aio import closing

TIMEOUT = 10.0


@dataclass
class SSEEvent:
    event: str
    data: Any


class StreamEnded(Exception):
    """The response ended without a `complete` event (a dropped stream)."""


class SSEStream:
    def __init__(self, response: httpx.Response, lines: AsyncIterator[str]):
        self.response = response
        self._lines = lines

    async def event(self, timeout: float = TIMEOUT) -> SSEEvent:  # noqa: ASYNC109
        """The next event; comments (keep-alive pings) are skipped."""
        async with asyncio.timeout(timeout):
            name, data = "message", list[str]()
            async for line in self._lines:
                if not line:
                    if data:
                        text = "\n".join(data)
                        return SSEEvent(name, json.loads(text) if text else None)
                    if name != "message":  # an event whose data line is empty
                        return SSEEvent(name, None)
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
            raise StreamEnded

    async def next(self, timeout: float = TIMEOUT) -> dict[str, Any]:  # noqa: ASYNC109
        """The data of the next `next` event, which must carry no error."""
        event = await self.event(timeout)
        assert event.event == "next", event
        assert "errors" not in event.data, event.data
        return dict(event.data["data"])

    async def results(self, count: int, field: str) -> list[dict[str, Any]]:
        return [(await self.next())[field] for _ in range(count)]

    async def errors(self) -> list[dict[str, Any]]:
        """The errors of the next event, which must be followed by `complete`."""
        event = await self.event()
        assert event.event == "next", event
        errors = list(event.data["errors"])
        assert (await self.event()).event == "complete"
        return errors


def codes(errors: list[dict[str, Any]]) -> list[str]:
    return [str(error.get("extensions", {}).get("code")) for error in errors]


@asynccontextmanager
async def sse_subscribe(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> AsyncIterator[SSEStream]:
    headers = {"accept": "text/event-stream"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = {"query": query, "variables": variables or {}}
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async with closing(response.aiter_lines()) as lines:
            yield SSEStream(response, lines)
