"""What a remote agent's process calls: its inbox, its answers, heartbeats and logs.

The process signs in with its owner's API key (or a token) and needs
`agent.command` on the agent: a key narrowed to that permission and that
agent is all a process needs. Every call checks the agent's ownership (audited).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

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
from kai.services.agent_log import MAX_MESSAGE
from kai.services.agent_status import CommandStats
from kai.services.remote import MAX_DELTA, MAX_ERROR, require_remote

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
        message_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The id of the inbox COMMAND or PROMPT answered."),
        ],
        result: Annotated[
            JSON | None, strawberry.argument(description="What the command returned.")
        ] = None,
        error: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    f"Why the command or the prompt failed, up to {MAX_ERROR} characters; "
                    "required for a PROMPT."
                )
            ),
        ] = None,
    ) -> bool:
        message = await load_message(info, str(message_id))
        await info.context.services.remote.reply(message=message, result=result, error=error)
        return True

    @strawberry.mutation(description="Stream part of the answer to an inbox PROMPT.")
    async def agent_stream_chunk(
        self,
        info: Info,
        message_id: Annotated[
            strawberry.ID, strawberry.argument(description="The id of the inbox PROMPT answered.")
        ],
        delta: Annotated[
            str,
            strawberry.argument(
                description=f"The next piece of the answer, up to {MAX_DELTA} characters."
            ),
        ],
        done: Annotated[
            bool, strawberry.argument(description="True on the last piece: it ends the answer.")
        ],
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
        task_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The task: the inbox TASK's payload.taskId."),
        ],
        progress: Annotated[
            float,
            strawberry.argument(description="The fraction done, 0 to 1; 1 ends the task."),
        ],
        result: Annotated[
            JSON | None,
            strawberry.argument(description="What the task returned: it ends COMPLETED."),
        ] = None,
        error: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    f"Why the attempt failed, up to {MAX_ERROR} characters: it ends as a "
                    "failed attempt, retried if the task has retries left."
                )
            ),
        ] = None,
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
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The remote agent that the process runs."),
        ],
        memory_usage: Annotated[
            float | None,
            strawberry.argument(
                description="The process's memory use, a fraction 0 to 1; null when unmeasured."
            ),
        ] = None,
        cpu_usage: Annotated[
            float | None,
            strawberry.argument(
                description="The process's CPU use, a fraction 0 to 1; null when unmeasured."
            ),
        ] = None,
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
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The remote agent that the process runs."),
        ],
        level: Annotated[
            LogLevel,  # type: ignore[valid-type]
            strawberry.argument(description="The line's severity."),
        ],
        message: Annotated[
            str,
            strawberry.argument(description=f"The text, up to {MAX_MESSAGE} characters."),
        ],
        data: Annotated[
            JSON | None,
            strawberry.argument(description="Structured detail: a JSON object, or null."),
        ] = None,
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
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The remote agent that the process runs."),
        ],
    ) -> AsyncGenerator[InboxMessage, None]:
        row = await load_remote(info, str(agent_id))
        await info.context.auditor.flush()
        # aclosing: a stopped subscription releases the agent now, not when collected.
        async with aclosing(info.context.services.remote.inbox(agent=row)) as messages:
            async for message in messages:
                yield InboxMessage.from_message(message)
