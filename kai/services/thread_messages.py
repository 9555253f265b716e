"""Storing a thread's messages: each one a `message` row and a MESSAGE agent event, in one
transaction, counted on its thread against KAI_QUOTA_MESSAGES_PER_THREAD."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kai.db import changed_rows
from kai.errors import NotFound, QuotaExceeded
from kai.events.log import EventLog, EventTransaction
from kai.models.agent_event import AgentEventType
from kai.models.base import new_id, utcnow
from kai.models.thread import Message, MessageRole, Thread
from kai.runtimes.base import Usage
from kai.services.thread_runs import ThreadRuns

MAX_ERROR_CHARS = 2000


class ThreadMessages:
    def __init__(self, events: EventLog, runs: ThreadRuns, *, per_thread: int):
        self._events = events
        self._runs = runs
        self._per_thread = per_thread

    async def store_question(
        self, *, thread: Thread, user_id: str, content: str, key: str | None
    ) -> Message:
        """The user's message. QUOTA_EXCEEDED when the thread has no room for it and its
        answer; an IntegrityError when another request took its idempotency key first."""
        async with self._events.transaction() as written:
            room = Thread.message_count + 2 <= self._per_thread
            if not await self._count(written.session, thread.id, room):
                if await written.session.get(Thread, thread.id) is None:
                    raise NotFound("Thread")
                raise QuotaExceeded(
                    "messages in this thread", quota="messagesPerThread", limit=self._per_thread
                )
            return await self._add(
                written,
                thread_id=thread.id,
                agent_id=thread.agent_id,
                role=MessageRole.USER,
                content=content,
                user_id=user_id,
                idempotency_key=key,
            )

    async def store_answer(
        self,
        question: Message,
        content: str,
        usage: Usage | None,
        *,
        interrupted: bool,
        run_id: str,
    ) -> Message:
        """The agent's answer to `question`, and its run's end (the thread is free)."""
        async with self._events.transaction() as written:
            if not await self._count(written.session, question.thread_id, None):
                raise NotFound("Thread")  # deleted while it answered
            await self._release(written.session, question.thread_id, run_id)
            answer = await self._add(
                written,
                thread_id=question.thread_id,
                agent_id=question.agent_id,
                role=MessageRole.ASSISTANT,
                content=content,
                reply_to=question.id,
                interrupted=interrupted,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
            )
        await self._runs.ended(question.thread_id)
        return answer

    async def store_failure(
        self, question: Message, reason: str, *, stream_id: str, run_id: str
    ) -> None:
        """No answer came: why, on the question (an idempotent retry answers it), as an
        ERROR event beside the prompt's, and the run's end."""
        async with self._events.transaction() as written:
            await written.session.execute(
                update(Message)
                .where(col(Message.id) == question.id)
                .values(error=reason[:MAX_ERROR_CHARS])
            )
            await self._release(written.session, question.thread_id, run_id)
            await written.append(
                agent_id=question.agent_id,
                type=AgentEventType.ERROR,
                data={"streamId": stream_id, "threadId": question.thread_id, "error": reason},
            )
        await self._runs.ended(question.thread_id)

    async def _count(self, session: AsyncSession, thread_id: str, room: Any) -> bool:
        query = update(Thread).where(col(Thread.id) == thread_id)
        if room is not None:
            query = query.where(room)
        grown = query.values(message_count=Thread.message_count + 1, updated_at=utcnow())
        return await changed_rows(session, grown) == 1

    async def _release(self, session: AsyncSession, thread_id: str, run_id: str) -> None:
        await session.execute(
            update(Thread)
            .where(col(Thread.id) == thread_id, col(Thread.run_id) == run_id)
            .values(self._runs.release_values())
        )

    async def _add(
        self,
        written: EventTransaction,
        *,
        thread_id: str,
        agent_id: str,
        role: MessageRole,
        content: str,
        **columns: Any,
    ) -> Message:
        message_id = new_id("msg")
        usage = None
        if columns.get("prompt_tokens") is not None or columns.get("completion_tokens") is not None:
            usage = {
                "promptTokens": columns.get("prompt_tokens"),
                "completionTokens": columns.get("completion_tokens"),
            }
        event = await written.append(
            agent_id=agent_id,
            type=AgentEventType.MESSAGE,
            data={
                "threadId": thread_id,
                "messageId": message_id,
                "role": role.value,
                "content": content,
                "usage": usage,
                "interrupted": bool(columns.get("interrupted")),
            },
        )
        message = Message(
            id=message_id,
            thread_id=thread_id,
            agent_id=agent_id,
            seq=event.seq,
            role=role,
            content=content,
            created_at=event.timestamp,
            **columns,
        )
        written.session.add(message)
        return message
