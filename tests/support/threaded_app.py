"""An ASGI app served with `serve_app` on a thread of its own, with its own event loop, for
tests that block (a browser driven by sync Playwright, `kai` processes): the fake OpenAI
server of tests/support/fake_openai.py that an `llm` agent of a real `kai serve` talks to."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.servers import serve_app


@contextmanager
def app_on_a_thread(app: Any) -> Iterator[str]:
    """Serves `app` (not yet started) on a loopback port; yields its base URL, and stops it
    at the end."""
    ready = threading.Event()
    held: dict[str, Any] = {}
    failures: list[BaseException] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with serve_app(app) as url:
            held.update(url=url, loop=asyncio.get_running_loop(), stop=stop)
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="app on a thread", daemon=True)
    thread.start()
    assert ready.wait(30), "the app did not start within 30 s"
    if failures:
        raise failures[0]
    try:
        yield str(held["url"])
    finally:
        held["loop"].call_soon_threadsafe(held["stop"].set)
        thread.join(30)
        assert not thread.is_alive(), "the app did not stop within 30 s"
        if failures:
            raise failures[0]
