"""Small asyncio helpers that the rest of kAI shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

T = TypeVar("T")


@asynccontextmanager
async def closing(iterator: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """`contextlib.aclosing` for an iterator typed as such that is really an async
    generator (httpx's `aiter_bytes`, `aiter_lines`): left unfinished, it is closed here,
    now, rather than by the garbage collector later."""
    try:
        yield iterator
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def completed(work: Coroutine[Any, Any, T]) -> T:
    """Runs `work` to its end even if the caller is cancelled meanwhile, then raises that
    cancellation: for steps that must not stop half way (a commit or a rollback, cut off
    in the middle, leaves its connection in an unknown state)."""
    task = asyncio.ensure_future(work)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError as error:
            if task.done():  # the work itself was cancelled, not only its caller
                raise
            cancelled = error
    if cancelled is not None:
        raise cancelled
    return result


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any]], *, within: float
) -> set[asyncio.Task[Any]]:
    """Cancels `tasks` and waits for them to end, for `within` seconds at most; returns
    those still running then.

    Cancels again while they run: redis-py's socket writes use asyncio.wait_for, which
    on Python 3.11 can swallow a cancellation.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {task for task in tasks if not task.done()}
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.05)
    return pending


async def until_stopped(
    items: AsyncGenerator[T, None], stop: asyncio.Event
) -> AsyncGenerator[T, None]:
    """`items` until they end or `stop` is set, whichever comes first: a step waiting on
    `items` when `stop` is set is cancelled (the generator then gets CancelledError where
    it waits, and is closed by its owner)."""
    stopped = asyncio.ensure_future(stop.wait())
    step: asyncio.Future[T] | None = None
    try:
        while not stop.is_set():
            step = asyncio.ensure_future(anext(items))
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            step = None
            yield item
    finally:
        stopped.cancel()
        if step is not None and not step.done():
            step.cancel()
            await asyncio.wait({step})  # its end, without raising what it raised
            if not step.cancelled():
                step.exception()  # retrieved: not logged as never retrieved
