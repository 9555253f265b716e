"""Small asyncio helpers that the rest of kAI shares."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
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
