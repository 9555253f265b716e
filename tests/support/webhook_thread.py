"""tests/support/webhook_receiver.py's endpoint for tests that block (a sync client, a
`kai` process): served on a thread of its own, with its own event loop, so the test's
thread can wait for what arrives by polling."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tests.support.webhook_receiver import Receiver, webhook_receiver

T = TypeVar("T")


@contextmanager
def receiver_on_a_thread() -> Iterator[Receiver]:
    """A running Receiver (its `url`, `secrets`, `answers`, `received`); stopped at the end."""
    ready = threading.Event()
    started: list[tuple[Receiver, asyncio.AbstractEventLoop, asyncio.Event]] = []
    failures: list[BaseException] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with webhook_receiver() as receiver:
            started.append((receiver, asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="webhook receiver", daemon=True)
    thread.start()
    assert ready.wait(30), "the webhook receiver did not start within 30 s"
    if failures:
        raise failures[0]
    receiver, loop, stop = started[0]
    try:
        yield receiver
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "the webhook receiver did not stop within 30 s"
        if failures:
            raise failures[0]


def arrived(check: Callable[[], T], timeout: float = 30.0) -> T:
    """What `check()` answers once it is truthy (what the receiver got, say), polled."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.05)
