"""A running task's progress reports, coalesced: at most one stored TASK_PROGRESS event
per task in each `interval` (KAI_TASK_PROGRESS_INTERVAL_SECONDS), the latest value
always delivered.

Each stored report is a guarded UPDATE, an event row with the agent's next seq, and a
message to every subscriber, while a handler may report as often as it likes (a step
of a loop over a million rows). A report within `interval` of the last stored event
(the claim's is the first) is held instead, replacing any value held before; a timer
stores the held value once the interval has passed. Before the task's outcome is
written, a value still held is stored first, unless the outcome's own event carries it
(a COMPLETED task's says progress 1.0): a subscriber always sees the last value that
was reported, and never a progress event after the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kai.db import database_unavailable

log = logging.getLogger(__name__)

# What a COMPLETED task's outcome says its progress is (TaskAttempts.finish).
COMPLETED_PROGRESS = 1.0
# A report this close to the interval's end counts as after it: a handler that sleeps
# the interval between reports has each one stored, whatever the clock's jitter.
SLACK_SECONDS = 0.005


class CoalescedProgress:
    """One task's reports. `store(value)` writes one (False: the task is no longer this
    worker's to run); `lost()` is called when a delayed write finds that so."""

    def __init__(
        self,
        store: Callable[[float], Awaitable[bool]],
        *,
        interval: float,
        lost: Callable[[], None],
    ):
        self._store = store
        self._interval = interval
        self._lost = lost
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()  # the claim's event
        self._held: float | None = None
        self._timer: asyncio.Task[None] | None = None
        self._sleeping = False
        self._settled = False
        # Writes in the order of the reports, one at a time.
        self._writing = asyncio.Lock()

    async def report(self, value: float) -> bool:
        """Stores `value` now, or holds it for the timer; False when the task is no
        longer this worker's. Database errors are the caller's (a stored report)."""
        value = min(max(float(value), 0.0), 1.0)
        now = self._loop.time()
        if self._timer is None and now - self._last >= self._interval - SLACK_SECONDS:
            self._held = None
            return await self._write(value, now)
        self._held = value
        if self._timer is None:
            self._timer = asyncio.create_task(self._store_later())
        # A handler that reports in a tight loop still yields, so a cancel reaches it.
        await asyncio.sleep(0)
        return True

    async def settle(self, outcome_progress: float | None) -> None:
        """Before the outcome is written: the timer stops, and a held value is stored
        unless the outcome says the same (`outcome_progress`; None: it says nothing).
        Never raises: the outcome matters more than a progress report."""
        self._settled = True
        timer = self._timer
        if timer is not None:
            if self._sleeping:
                timer.cancel()
            await asyncio.wait({timer})  # a write under way ends first
        held, self._held = self._held, None
        if held is None or held == outcome_progress:
            return
        try:
            await self._write(held, self._loop.time())
        except Exception as exc:  # the outcome's write outlasts an outage; this need not
            log.warning("last progress report not recorded: %r", exc)

    async def _write(self, value: float, now: float) -> bool:
        self._last = now
        async with self._writing:
            return await self._store(value)

    async def _store_later(self) -> None:
        """The timer: stores what is held once the interval since the last write is over."""
        try:
            while self._held is not None and not self._settled:
                self._sleeping = True
                try:
                    await asyncio.sleep(self._last + self._interval - self._loop.time())
                finally:
                    self._sleeping = False
                if self._settled or self._held is None:
                    return
                value, self._held = self._held, None
                if not await self._write_held(value):
                    self._lost()
                    return
        finally:
            self._timer = None

    async def _write_held(self, value: float) -> bool:
        """A held value's write; one the database refused while away stays held."""
        try:
            return await self._write(value, self._loop.time())
        except Exception as exc:
            if not database_unavailable(exc):
                log.exception("progress report failed")
                return True
            log.warning("progress report not recorded, database unavailable: %r", exc)
            if self._held is None:
                self._held = value  # unless a newer one came meanwhile
            return True
