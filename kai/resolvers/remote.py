"""What a remote agent's process calls: its inbox, its answers, heartbeats and logs.

The process signs in with its owner's API key (or a token) and needs
`agent.command` on the agent: a key narrowed to that permission and that
agent is all a process needs. Every call checks the agent's ownership (audited).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from strawberry.scalars import JSON

from kai.context import Info
from kai.errors import NotFound
from kai.models.agent import Agent as AgentRow
from kai.models.remote import RemoteMessage
from kai.resolvers.agent import load_agent
from kai.resolvers.task import load_task
from kai.schema.agent_log import LogEntry, LogLevel
from kai.schema.agent_status import AgentStatus
from kai.schema.remote import InboxMessage
from kai.schema.task import Task
from kai.services.agent_status import CommandStats
from kai.services.remote import require_remote

PROCESS_PERMISSION = "agent.command"


async def load_remote(info: Info, agent_id: str) -> AgentRow:
    row = await load_agent(info, agent_id, PROCESS_PERMISSION)
    require_remote(row)
    return row


async def load_message(info: Info, message_id: str) -> RemoteMessage:
    """A pending message of one of the caller's agents; else NOT_FOUND (audited either way)."""
    message = await info.context.services.remote.pending(message_id=message_id)
    if message is None:
        await info.context.authorize(
            PROCESS_PERMISSION, resource=f"message:{message_id}", found=False
        )
    assert message is not None
    await load_agent(info, message.agent_id, PROCESS_PERMISSION)
    return message


@strawberry.type
class RemoteMutation:
    @strawberry.mutation(description="Answer an inbox COMMAND (or report a PROMPT's failure).")
    async def agent_reply(
        self,
        info: Info,
        message_id: strawberry.ID,
        result: JSON | None = None,
        error: str | None = None,
    ) -> bool:
        message = await load_message(info, str(message_id))
        await info.context.services.remote.reply(message=message, result=result, error=error)
        return True

    @strawberry.mutation(description="Stream part of the answer to an inbox PROMPT.")
    async def agent_stream_chunk(
        self, info: Info, message_id: strawberry.ID, delta: str, done: bool
    ) -> bool:
        message = await load_message(info, str(message_id))
        await info.context.services.remote.chunk(message=message, delta=delta, done=done)
        return True

    @strawberry.mutation(
        description=(
            "Report on an inbox TASK of a remote agent (progress 0..1). A result, an error "
            "or progress 1 ends it: COMPLETED with the result, or a failed attempt."
        )
    )
    async def agent_task_progress(
        self,
        info: Info,
        task_id: strawberry.ID,
        progress: float,
        result: JSON | None = None,
        error: str | None = None,
    ) -> Task:
        row = await load_task(info, str(task_id), PROCESS_PERMISSION)
        services = info.context.services
        agent = (
            await services.agents.get(agent_id=row.agent_id) if row.agent_id is not None else None
        )
        if agent is None:
            raise NotFound("Task")
        await services.remote.task_progress(
            task=row, agent=agent, progress=progress, result=result, error=error
        )
        return Task.from_row(await services.tasks.get(task_id=row.id) or row)

    @strawberry.mutation(
        description=(
            "A remote process's sign of life, with its measured usage (fractions 0..1, "
            "null when it cannot measure them)."
        )
    )
    async def agent_heartbeat(
        self,
        info: Info,
        agent_id: strawberry.ID,
        memory_usage: float | None = None,
        cpu_usage: float | None = None,
    ) -> AgentStatus:
        row = await load_remote(info, str(agent_id))
        services = info.context.services
        updated = await services.remote.heartbeat(
            agent=row, memory_usage=memory_usage, cpu_usage=cpu_usage
        )
        # Not the request's loader: over a WebSocket it would keep its first answer.
        stats = await services.agent_status.command_stats([updated.id])
        counts = await services.tasks.counts([updated.id])
        return AgentStatus.build(
            updated,
            stats.get(updated.id) or CommandStats(),
            task_counts=counts.get(updated.id, {}),
            heartbeat_timeout=services.settings.heartbeat_timeout_seconds,
        )

    @strawberry.mutation(description="A log line from a remote agent's process.")
    async def agent_log(
        self,
        info: Info,
        agent_id: strawberry.ID,
        level: LogLevel,  # type: ignore[valid-type]
        message: str,
        data: JSON | None = None,
    ) -> LogEntry:
        row = await load_remote(info, str(agent_id))
        entry = await info.context.services.agent_logs.add(
            agent_id=row.id, level=level, message=message, data=data
        )
        return LogEntry.from_row(entry)


@strawberry.type
class RemoteSubscription:
    @strawberry.subscription(
        description=(
            "For a REMOTE agent process: the work routed to it. Connecting marks the agent "
            "RUNNING; disconnecting, STOPPED."
        )
    )
    async def agent_inbox(
        self, info: Info, agent_id: strawberry.ID
    ) -> AsyncGenerator[InboxMessage, None]:
        row = await load_remote(info, str(agent_id))
        await info.context.auditor.flush()
        # aclosing: a stopped subscription releases the agent now, not when collected.
        async with aclosing(info.context.services.remote.inbox(agent=row)) as messages:
            async for message in messages:
                yield InboxMessage.from_message(message)
