"""Housekeeping that runs every few seconds for the life of a process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    seconds: float,
    work: Callable[[], Awaitable[object]],
    *,
    what: str,
    wait_first: bool = False,
) -> None:
    """Runs `work` every `seconds` until cancelled.

    A round that fails (the database or the broker blinked) is logged as a warning and
    the next round tries again: housekeeping must outlive an outage, not end with it.
    `wait_first`: the first round comes after one interval, not at once.
    """
    if wait_first:
        await asyncio.sleep(seconds)
    while True:
        try:
            await work()
        except Exception as exc:
            log.warning("%s failed: %r", what, exc)
        await asyncio.sleep(seconds)
