"""A client that goes before the server has read its request is nobody's error: no
answer, nothing in the log (it was "Exception in ASGI application", found by the drop
test: a TCP reset while an SSE request's body was being read)."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import pytest

from kai.app import create_app
from tests.support.servers import serve_app
from tests.support.settings import make_settings

CUTS = 12


async def test_a_client_that_goes_mid_body_leaves_nothing_in_the_log(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(20261204)
    app = create_app(make_settings(sqlite_url, tmp_path / "data"))
    caplog.set_level(logging.INFO)
    async with serve_app(app) as url:
        port = int(url.rsplit(":", 1)[1])
        caplog.clear()  # start-up's own warnings (no virus scanner here) are not at issue
        for _ in range(CUTS):
            body = b'{"query": "subscription { taskUpdates(taskId: \\"t\\") { id } }"}'
            sent = rng.randrange(1, len(body))  # some of the body, never all of it
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: kai\r\nContent-Type: application/json\r\n"
                + rng.choice([b"Accept: text/event-stream\r\n", b""])
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:sent]
            )
            await writer.drain()
            await asyncio.sleep(0.05)  # the server is reading the body now
            writer.transport.abort()  # a reset, not a polite close
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [f"{r.name}: {r.getMessage()}" for r in errors] == []
