"""One answer at a time per thread, on any replica: a claimed run with a lease.

A run is claimed by a guarded UPDATE (the thread is free, or its lease ran out: a
process that died mid-answer frees its threads by itself) and renewed every third of the
lease while it runs. Its end clears it in the transaction that stores the answer.

A later message with onBusy INTERRUPT marks the running answer (`interrupt_run`) and says
so on the thread's hub channel: the runner stops at once when it hears it, or at its
next renewal if the message was lost. A run's end is said on the same channel, so that
messages waiting their turn (QUEUE) try again at once rather than at their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import NotFound
from kai.events.hub import EventHub, Interrupted, Subscription
from kai.models.base import utcnow
from kai.models.thread import Thread

log = logging.getLogger(__name__)

# Messages waiting their turn look again at least this often (a run's end is also heard).
WAIT_POLL_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0)


def thread_channel(thread_id: str) -> str:
    return f"kai:thread:{thread_id}"


def lease_held(thread: Thread) -> bool:
    """Whether an answer is being produced on `thread` (as read)."""
    return (
        thread.run_id is not None and thread.run_until is not None and thread.run_until >= utcnow()
    )


class ThreadRuns:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        hub: EventHub,
        lease_seconds: float,
    ):
        self._sessionmaker = sessionmaker
        self._hub = hub
        self._lease = timedelta(seconds=lease_seconds)
        # This process's waiting messages, per thread: a line each (gone when no one
        # holds it), and how many must go first.
        self._lines: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._jumping: Counter[str] = Counter()

    async def claim(self, thread_id: str, run_id: str) -> bool:
        """The thread is `run_id`'s until released (or its lease runs out); False when
        another answer holds it."""
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            claimed = await changed_rows(
                session,
                update(Thread)
                .where(
                    col(Thread.id) == thread_id,
                    or_(col(Thread.run_id).is_(None), col(Thread.run_until) < now),
                )
                .values(run_id=run_id, run_until=now + self._lease, interrupt_run=None),
            )
        return claimed == 1

    async def wait_and_claim(self, thread_id: str, run_id: str, *, first: bool = False) -> None:
        """Claims the thread once its running answer ends; as long as the caller stays.

        Waiters of one process take turns in the order they came (QUEUE), behind any that
        must go `first` (INTERRUPT, which asked the running answer to stop for it); across
        processes, whoever claims first. Runs end on any replica: their end is heard on
        the thread's channel, and polled for should that message be lost."""
        if first:
            self._jumping[thread_id] += 1
            try:
                await self._claim_when_free(thread_id, run_id, yielding=False)
            finally:
                self._jumping[thread_id] -= 1
                if not self._jumping[thread_id]:
                    del self._jumping[thread_id]
            return
        line = self._lines.get(thread_id)
        if line is None:
            line = self._lines[thread_id] = asyncio.Lock()
        async with line:  # asyncio.Lock wakes its waiters in the order they came
            await self._claim_when_free(thread_id, run_id, yielding=True)

    async def _claim_when_free(self, thread_id: str, run_id: str, *, yielding: bool) -> None:
        async with self._hub.subscribe(thread_channel(thread_id)) as ended:
            for attempt in itertools.count():
                if not (yielding and self._jumping[thread_id]) and await self.claim(
                    thread_id, run_id
                ):
                    return
                if not await self._exists(thread_id):
                    raise NotFound("Thread")  # deleted while this message waited
                pause = WAIT_POLL_SECONDS[min(attempt, len(WAIT_POLL_SECONDS) - 1)]
                with contextlib.suppress(TimeoutError, Interrupted):
                    async with asyncio.timeout(pause):
                        await ended.get()

    async def _exists(self, thread_id: str) -> bool:
        async with self._sessionmaker() as session:
            found = await session.scalar(select(col(Thread.id)).where(col(Thread.id) == thread_id))
        return found is not None

    async def interrupt(self, thread_id: str) -> None:
        """Asks the running answer, if any, to stop where it is."""
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Thread)
                .where(
                    col(Thread.id) == thread_id,
                    col(Thread.run_id).is_not(None),
                    col(Thread.run_until) >= now,
                )
                .values(interrupt_run=Thread.run_id)
            )
        await self._hub.publish(thread_channel(thread_id), {"interrupt": True})

    def release_values(self) -> dict[str, object]:
        """What the transaction storing a run's answer sets on its thread."""
        return {"run_id": None, "run_until": None, "interrupt_run": None}

    async def release(self, thread_id: str, run_id: str) -> None:
        """Frees the thread if `run_id` still holds it (an answer that stored nothing)."""
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Thread)
                .where(col(Thread.id) == thread_id, col(Thread.run_id) == run_id)
                .values(self.release_values())
            )
        await self.ended(thread_id)

    async def ended(self, thread_id: str) -> None:
        await self._hub.publish(thread_channel(thread_id), {"ended": True})

    @asynccontextmanager
    async def held(self, thread_id: str, run_id: str) -> AsyncIterator[asyncio.Event]:
        """While the caller answers: the lease renewed, and an event set when the answer
        must stop (a later message interrupts it, or the lease was lost)."""
        stop = asyncio.Event()
        async with self._hub.subscribe(thread_channel(thread_id)) as heard:
            watchers = [
                asyncio.create_task(self._renew(thread_id, run_id, stop)),
                asyncio.create_task(self._listen(heard, thread_id, run_id, stop)),
            ]
            try:
                yield stop
            finally:
                for watcher in watchers:
                    watcher.cancel()
                await asyncio.gather(*watchers, return_exceptions=True)

    async def _renew(self, thread_id: str, run_id: str, stop: asyncio.Event) -> None:
        every = self._lease.total_seconds() / 3
        while not stop.is_set():
            await asyncio.sleep(every)
            if not await self._still_mine(thread_id, run_id, renew=True):
                stop.set()

    async def _listen(
        self, heard: Subscription, thread_id: str, run_id: str, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                message = await heard.get()
            except Interrupted:
                message = {"interrupt": True}  # missed messages: look at the row
            if message.get("interrupt") and not await self._still_mine(thread_id, run_id):
                stop.set()

    async def _still_mine(self, thread_id: str, run_id: str, *, renew: bool = False) -> bool:
        """Whether `run_id` holds the thread and nobody asked it to stop; `renew` also
        moves its lease on, in the same statement (a plain look writes nothing)."""
        mine = (
            col(Thread.id) == thread_id,
            col(Thread.run_id) == run_id,
            or_(col(Thread.interrupt_run).is_(None), col(Thread.interrupt_run) != run_id),
        )
        if not renew:
            async with self._sessionmaker() as session:
                return await session.scalar(select(col(Thread.id)).where(*mine)) is not None
        async with transaction(self._sessionmaker) as session:
            renewed = update(Thread).where(*mine).values(run_until=utcnow() + self._lease)
            return await changed_rows(session, renewed) == 1
