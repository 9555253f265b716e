from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from kai.context import Info
from kai.models.agent import Agent as AgentRow
from kai.models.thread import Message as MessageRow
from kai.models.thread import Thread as ThreadRow
from kai.resolvers.agent import load_agent
from kai.schema.command import StreamChunk
from kai.schema.pagination import After, First
from kai.schema.thread import (
    THREAD_ORDER_DESCRIPTION,
    Message,
    MessageInput,
    Thread,
    ThreadConnection,
    ThreadEdge,
    ThreadInput,
    ThreadOrder,
    thread_sorting,
)
from kai.services.command import Chunk
from kai.services.conversation import Ask, BusyPolicy

ThreadId = Annotated[strawberry.ID, strawberry.argument(description="The thread's id.")]


async def load_thread(info: Info, thread_id: str, permission: str = "thread.use") -> ThreadRow:
    """The thread, if the caller holds `permission` on it (it is theirs, or they hold
    thread.* everywhere); else FORBIDDEN or NOT_FOUND (audited)."""
    row = await info.context.services.threads.get(thread_id=thread_id)
    await info.context.authorize(
        permission,
        resource=f"thread:{thread_id}",
        owner_id=row.owner_id if row is not None else None,
        found=row is not None,
        agent_id=row.agent_id if row is not None else None,
    )
    assert row is not None
    return row


async def load_message(info: Info, message_id: str) -> MessageRow:
    """A message, if the caller may use its thread; NOT_FOUND alike for none and others'."""
    row = await info.context.services.threads.get_message(message_id=message_id)
    thread = (
        await info.context.services.threads.get(thread_id=row.thread_id)
        if row is not None
        else None
    )
    await info.context.authorize(
        "thread.use",
        resource=f"message:{message_id}",
        owner_id=thread.owner_id if thread is not None else None,
        found=thread is not None,
        agent_id=thread.agent_id if thread is not None else None,
    )
    assert row is not None
    return row


async def _thread_and_agent(info: Info, thread_id: str) -> tuple[ThreadRow, AgentRow]:
    thread = await load_thread(info, thread_id)
    agent = await info.context.services.agents.get(agent_id=thread.agent_id)
    if agent is None:  # deleted meanwhile, and the thread with it
        thread = await load_thread(info, thread_id)
    assert agent is not None
    return thread, agent


def _ask(input: MessageInput, idempotency_key: str | None = None) -> Ask:
    return Ask(
        content=input.content,
        options=input.options,
        on_busy=input.on_busy or BusyPolicy.REJECT,
        idempotency_key=idempotency_key,
    )


@strawberry.type
class ThreadQuery:
    @strawberry.field(
        description="The caller's threads (every one for ADMIN), the most recently started "
        "first, or as `orderBy` says."
    )
    async def threads(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only those with this agent; null: all of them."),
        ] = None,
        order_by: Annotated[
            ThreadOrder | None, strawberry.argument(description=THREAD_ORDER_DESCRIPTION)
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> ThreadConnection:
        if agent_id is not None:
            await load_agent(info, str(agent_id), "thread.use")
            principal = await info.context.principal()
        else:
            principal = await info.context.authorize("thread.use", resource="thread:*")
        page = await info.context.services.threads.page(
            principal=principal,
            agent_id=str(agent_id) if agent_id is not None else None,
            sorting=thread_sorting(order_by),
            first=first,
            after=after,
        )
        return ThreadConnection.of(page, ThreadEdge, Thread.from_row)

    @strawberry.field(description="One thread, if the caller may use it.")
    async def thread(self, info: Info, id: ThreadId) -> Thread | None:
        return Thread.from_row(await load_thread(info, str(id)))


@strawberry.type
class ThreadMutation:
    @strawberry.mutation(
        description="A new thread with one of the caller's agents. Past "
        "KAI_QUOTA_THREADS_PER_USER, QUOTA_EXCEEDED."
    )
    async def create_thread(
        self,
        info: Info,
        input: Annotated[ThreadInput, strawberry.argument(description="Its agent and title.")],
    ) -> Thread:
        agent = await load_agent(info, str(input.agent_id), "thread.use")
        principal = await info.context.principal()
        await info.context.auditor.flush()
        row = await info.context.services.threads.create(
            agent=agent, owner_id=principal.user_id, title=input.title, metadata=input.metadata
        )
        return Thread.from_row(row)

    @strawberry.mutation(
        description="Deletes a thread with its messages (and their agent events); returns its id."
    )
    async def delete_thread(self, info: Info, id: ThreadId) -> strawberry.ID:
        row = await load_thread(info, str(id))
        await info.context.auditor.flush()
        await info.context.services.threads.delete(thread_id=row.id)
        return strawberry.ID(row.id)

    @strawberry.mutation(
        description="Stores the message, runs the agent on the whole thread, waits for and "
        "returns the answer (the assistant's Message). While the thread answers another, "
        "`onBusy` decides: CONFLICT, wait, or cut it short. The same idempotencyKey again "
        "returns the first request's answer and asks nothing again."
    )
    async def post_message(
        self,
        info: Info,
        thread_id: ThreadId,
        input: Annotated[MessageInput, strawberry.argument(description="The message.")],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(description="Retries with the same key are answered once."),
        ] = None,
    ) -> Message:
        thread, agent = await _thread_and_agent(info, str(thread_id))
        principal = await info.context.principal()
        await info.context.auditor.flush()
        answer = await info.context.services.conversations.post(
            thread=thread, agent=agent, user_id=principal.user_id, ask=_ask(input, idempotency_key)
        )
        return Message.from_row(answer, thread)


@strawberry.type
class ThreadSubscription:
    @strawberry.subscription(
        description="Stores the message, then streams the agent's answer chunk by chunk (the "
        "last has done: true); the answer is stored as it completes, or as far as it got if "
        "the subscription stops first."
    )
    async def send_message(
        self,
        info: Info,
        thread_id: ThreadId,
        input: Annotated[MessageInput, strawberry.argument(description="The message.")],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="Subscribing again with the same key (after a dropped "
                "connection) asks nothing again: the first answer comes, in one chunk, "
                "once it is complete."
            ),
        ] = None,
    ) -> AsyncGenerator[StreamChunk, None]:
        thread, agent = await _thread_and_agent(info, str(thread_id))
        principal = await info.context.principal()
        await info.context.auditor.flush()
        parts = info.context.services.conversations.answer(
            thread=thread,
            agent=agent,
            user_id=principal.user_id,
            ask=_ask(input, idempotency_key),
        )
        async with aclosing(parts):
            async for part in parts:
                if isinstance(part, Chunk):
                    yield StreamChunk.from_chunk(part)
