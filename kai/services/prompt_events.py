"""What a prompt's streamed answer leaves in the agent's event log (Q1).

The prompting client gets every delta as it comes (streamPrompt). The event log, which
every follower of the agent replays, gets them joined: a STREAM_CHUNK event holds the
deltas since the last one, written once they reach STORED_CHUNK_CHARS characters or
STORED_CHUNK_SECONDS after the last event, and at the end. One event per delta made a
100 KB prompt to an echo agent about 50,000 rows; now a prompt stores at most one event
per KB and one per second of its answer, plus the last. An event's `index` is that of
its first delta; its `delta` the deltas joined, so the events' deltas in order are the
whole answer, as before.
"""

from __future__ import annotations

import time

from kai.events.log import EventLog
from kai.models.agent_event import AgentEventType

STORED_CHUNK_CHARS = 1024
STORED_CHUNK_SECONDS = 1.0


class StreamRecorder:
    def __init__(
        self,
        events: EventLog,
        *,
        agent_id: str,
        stream_id: str,
        extra: dict[str, str] | None = None,
    ):
        self._events = events
        # More for each event's data: the thread an answer is for.
        self._extra = extra or {}
        self._agent_id = agent_id
        self._stream_id = stream_id
        self._parts: list[str] = []
        self._size = 0
        self._first_index = 0
        self._last_stored = time.monotonic()

    async def add(self, index: int, delta: str) -> None:
        """One delta of the answer; stored now or with the next ones."""
        if not self._parts:
            self._first_index = index
        self._parts.append(delta)
        self._size += len(delta)
        waited = time.monotonic() - self._last_stored
        if self._size >= STORED_CHUNK_CHARS or waited >= STORED_CHUNK_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        """Stores what is held (before an error event, or when the stream is given up)."""
        if self._parts:
            await self._store(self._first_index, "".join(self._parts), done=False)

    async def finish(self, index: int) -> None:
        """The end of the answer: what is held, marked done (`index`: the done chunk's)."""
        first = self._first_index if self._parts else index
        await self._store(first, "".join(self._parts), done=True)

    async def _store(self, index: int, delta: str, *, done: bool) -> None:
        await self._events.record(
            agent_id=self._agent_id,
            type=AgentEventType.STREAM_CHUNK,
            data={
                "streamId": self._stream_id,
                **self._extra,
                "index": index,
                "delta": delta,
                "done": done,
            },
        )
        self._parts, self._size = [], 0
        self._last_stored = time.monotonic()
