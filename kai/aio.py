"""Small asyncio helpers that the rest of kAI shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

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
