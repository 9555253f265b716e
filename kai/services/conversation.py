"""Answering on a thread: the user's message stored, the agent run on the thread, its
answer streamed to the asker and stored when it completes (or stops).

Every stored message is also a MESSAGE agent event in the same transaction, so its `seq`
is the event's: history read backwards and `agentEvents(after:)` meet with no gap. The
answer's pieces go to the event log as the prompt's do (STREAM_CHUNK, joined), marked
with the thread's id.

One answer at a time per thread (kai.services.thread_runs). The user's message is stored
once its turn has come, so a thread reads in the order it was answered in: question,
answer, question, answer, whatever the overlap (BusyPolicy).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.aio import completed, until_stopped
from kai.errors import AgentUnavailable, BadUserInput, Conflict, ErrorCode, KaiError, NotFound
from kai.events.log import EventLog
from kai.models.agent import Agent
from kai.models.base import new_id
from kai.models.thread import Message, Thread
from kai.runtimes import RuntimeRegistry
from kai.runtimes.base import CommandFailed, RuntimeUnavailable, Usage, converse
from kai.services.agent import handle
from kai.services.command import Chunk, require_running
from kai.services.prompt_events import StreamRecorder
from kai.services.thread_history import conversation
from kai.services.thread_messages import ThreadMessages
from kai.services.thread_runs import ThreadRuns, lease_held
from kai.services.validation import bounded_text

log = logging.getLogger(__name__)

IDEMPOTENCY_POLL_SECONDS = 0.05


class BusyPolicy(enum.StrEnum):
    REJECT = "REJECT"
    QUEUE = "QUEUE"
    INTERRUPT = "INTERRUPT"


@dataclass(frozen=True, slots=True)
class Ask:
    """One message to answer, as a client sent it."""

    content: str
    options: Any = None
    on_busy: BusyPolicy = BusyPolicy.REJECT
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationLimits:
    max_chars: int
    per_thread: int
    history_tokens: int


class ConversationService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtimes: RuntimeRegistry,
        events: EventLog,
        runs: ThreadRuns,
        limits: ConversationLimits,
    ):
        self._sessionmaker = sessionmaker
        self._runtimes = runtimes
        self._events = events
        self._runs = runs
        self._limits = limits
        self._messages = ThreadMessages(events, runs, per_thread=limits.per_thread)

    async def post(self, *, thread: Thread, agent: Agent, user_id: str, ask: Ask) -> Message:
        """The stored answer, once complete. With an idempotency key sent before, the first
        request's answer (waited for while it runs), and nothing asked again."""
        answer: Message | None = None
        async with aclosing(
            self.answer(thread=thread, agent=agent, user_id=user_id, ask=ask)
        ) as parts:
            async for part in parts:
                if isinstance(part, Message):
                    answer = part
        assert answer is not None
        return answer

    async def answer(
        self, *, thread: Thread, agent: Agent, user_id: str, ask: Ask
    ) -> AsyncGenerator[Chunk | Message, None]:
        """The answer's chunks as they come (the last one `done`), then the stored answer."""
        text = bounded_text(
            ask.content,
            field="input.content",
            max_length=self._limits.max_chars,
            required=True,
            multiline=True,
        )
        if ask.options is not None and not isinstance(ask.options, dict):
            raise BadUserInput("options must be a JSON object.", field="input.options")
        key = bounded_text(ask.idempotency_key, field="idempotencyKey", max_length=200)
        if key is not None:
            earlier = await self._asked_with(user_id, key)
            if earlier is not None:
                async for part in _replayed(await self._answer_to(earlier)):
                    yield part
                return
        require_running(agent)
        run_id = new_id("run")
        await self._take_turn(thread.id, run_id, ask.on_busy)
        try:
            question = await self._messages.store_question(
                thread=thread, user_id=user_id, content=text or "", key=key
            )
        except IntegrityError:
            # The same key, sent twice at once: the other request answers it.
            await completed(self._runs.release(thread.id, run_id))
            earlier = await self._asked_with(user_id, key or "")
            assert earlier is not None
            async for part in _replayed(await self._answer_to(earlier)):
                yield part
            return
        except BaseException:
            await completed(self._runs.release(thread.id, run_id))
            raise
        async with aclosing(self._run(thread, agent, question, ask.options, run_id)) as parts:
            async for part in parts:
                yield part

    async def _take_turn(self, thread_id: str, run_id: str, on_busy: BusyPolicy) -> None:
        if on_busy is BusyPolicy.INTERRUPT:
            await self._runs.interrupt(thread_id)
        elif on_busy is BusyPolicy.REJECT:
            if not await self._runs.claim(thread_id, run_id):
                raise Conflict(
                    "The thread is answering another message: send with onBusy QUEUE to "
                    "be answered after it, or INTERRUPT to cut it short."
                )
            return
        await self._runs.wait_and_claim(thread_id, run_id, first=on_busy is BusyPolicy.INTERRUPT)

    async def _run(
        self, thread: Thread, agent: Agent, question: Message, options: Any, run_id: str
    ) -> AsyncGenerator[Chunk | Message, None]:
        stream_id = new_id("str")
        recorder = StreamRecorder(
            self._events, agent_id=agent.id, stream_id=stream_id, extra={"threadId": thread.id}
        )
        parts: list[str] = []
        usage: Usage | None = None
        ended = interrupted = False
        try:
            reserved = agent.configuration.get("systemPrompt")
            asked = await conversation(
                self._sessionmaker,
                thread_id=thread.id,
                up_to_seq=question.seq,
                budget=self._limits.history_tokens,
                reserved=reserved if isinstance(reserved, str) else None,
            )
            runtime = self._runtimes.get(agent.type)
            async with self._runs.held(thread.id, run_id) as stop:
                deltas = until_stopped(converse(runtime, handle(agent), asked, options), stop)
                async with aclosing(deltas):
                    async for part in deltas:
                        if isinstance(part, Usage):
                            usage = part
                        elif part:
                            index = len(parts)
                            # Kept before it is sent: an asker who leaves at this chunk
                            # has seen it, and the answer stored then holds it.
                            parts.append(part)
                            await recorder.add(index, part)
                            yield Chunk(stream_id, index, part, False)
                interrupted = stop.is_set()
            await recorder.finish(len(parts))
            ended = True  # from here on, whatever happens, nothing is left to keep
            answer = await self._messages.store_answer(
                question, "".join(parts), usage, interrupted=interrupted, run_id=run_id
            )
        except (RuntimeUnavailable, CommandFailed) as exc:
            ended = True
            await self._failed(question, run_id, recorder, stream_id, exc)
        finally:
            if not ended:  # the asker left (or the server stops): keep what was said
                await completed(self._cut_short(question, parts, usage, run_id, recorder))
        yield Chunk(stream_id, len(parts), "", True, interrupted)
        yield answer

    async def _failed(
        self,
        question: Message,
        run_id: str,
        recorder: StreamRecorder,
        stream_id: str,
        exc: Exception,
    ) -> None:
        reason = str(exc) or "The agent cannot take work now."
        await recorder.flush()
        await self._messages.store_failure(question, reason, stream_id=stream_id, run_id=run_id)
        if isinstance(exc, RuntimeUnavailable):
            raise AgentUnavailable(reason) from exc
        raise KaiError(
            f"The agent failed to answer: {reason}", code=ErrorCode.AGENT_UNAVAILABLE
        ) from exc

    async def _cut_short(
        self,
        question: Message,
        parts: list[str],
        usage: Usage | None,
        run_id: str,
        recorder: StreamRecorder,
    ) -> None:
        try:
            await recorder.flush()
            await self._messages.store_answer(
                question, "".join(parts), usage, interrupted=True, run_id=run_id
            )
        except NotFound:
            pass  # the thread was deleted meanwhile
        except Exception:
            log.exception("thread %s: the answer cut short was not stored", question.thread_id)
            await self._runs.release(question.thread_id, run_id)

    async def _asked_with(self, user_id: str, key: str) -> Message | None:
        async with self._sessionmaker() as session:
            return await session.scalar(
                select(Message).where(
                    col(Message.user_id) == user_id, col(Message.idempotency_key) == key
                )
            )

    async def _answer_to(self, question: Message) -> Message:
        """The answer to an earlier request's message; waited for while a run holds the
        thread, AGENT_UNAVAILABLE if it failed or its run ended (or died) without one."""
        while True:
            async with self._sessionmaker() as session:
                answer = await session.scalar(
                    select(Message).where(
                        col(Message.thread_id) == question.thread_id,
                        col(Message.reply_to) == question.id,
                    )
                )
                asked = await session.get(Message, question.id, populate_existing=True)
                thread = await session.get(Thread, question.thread_id, populate_existing=True)
            if answer is not None:
                return answer
            if asked is not None and asked.error is not None:
                raise AgentUnavailable(f"The first request with this key failed: {asked.error}")
            if asked is None or thread is None or not lease_held(thread):
                raise AgentUnavailable(
                    "The first request with this idempotency key did not complete."
                )
            await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)


async def _replayed(answer: Message) -> AsyncGenerator[Chunk | Message, None]:
    """An answer given before (the same idempotency key again), as a stream: all of it in
    one chunk, then the last."""
    stream_id = new_id("str")
    if answer.content:
        yield Chunk(stream_id, 0, answer.content, False)
    yield Chunk(stream_id, 1 if answer.content else 0, "", True, answer.interrupted)
    yield answer
