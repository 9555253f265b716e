from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry
from starlette.websockets import WebSocket
from strawberry.scalars import JSON

from kai.context import Info
from kai.errors import BadUserInput, ServiceUnavailable
from kai.events.hub import Overflow
from kai.models.agent import Agent as AgentRow
from kai.schema.agent import Agent, AgentConfigInput, AgentConfigPatch
from kai.schema.agent_event import AgentEvent
from kai.schema.agent_list import (
    AgentConnection,
    AgentEdge,
    AgentFilter,
    AgentOrder,
    agent_sorting,
)
from kai.schema.agent_log import LevelAtLeast, LogConnection, Since
from kai.schema.agent_read_ahead import read_ahead
from kai.schema.agent_status import AgentStatus
from kai.schema.agent_type import AgentType
from kai.schema.command import AgentCommandInput, CommandResult, StreamChunk, StreamPromptInput
from kai.schema.pagination import After, First
from kai.services.agent import AgentFilter as AgentFilterValue

# Closes a subscriber's socket when it falls more than KAI_SUBSCRIBER_BUFFER
# messages behind; it reconnects and resumes with agentEvents(after:).
CLOSE_TOO_SLOW = 4413


async def load_agent(info: Info, agent_id: str, permission: str) -> AgentRow:
    """The agent, if the caller holds `permission` on it; else FORBIDDEN or NOT_FOUND (audited)."""
    row = await info.context.services.agents.get(agent_id=agent_id)
    await info.context.authorize(
        permission,
        resource=f"agent:{agent_id}",
        owner_id=row.owner_id if row else None,
        found=row is not None,
        agent_id=agent_id,
    )
    assert row is not None
    return row


async def close_too_slow(info: Info) -> None:
    """A socket is closed with 4413; an SSE stream ends with an error event (the client
    reconnects, as for any dropped stream, and resumes with `after`)."""
    connection = info.context.connection
    if isinstance(connection, WebSocket):
        await connection.close(
            code=CLOSE_TOO_SLOW, reason="Subscriber too slow; resume with `after`"
        )
        return
    raise ServiceUnavailable("Subscriber too slow: reconnect and resume with `after`.")


@strawberry.type
class AgentQuery:
    @strawberry.field(description="Every agent type, with the JSON Schema of its configuration.")
    async def agent_types(self, info: Info) -> list[AgentType]:
        await info.context.principal()
        return [AgentType.from_runtime(r) for r in info.context.services.agents.runtimes]

    @strawberry.field(
        description="The caller's agents; every agent for ADMIN. Newest first unless "
        "`orderBy` says otherwise."
    )
    async def agents(
        self,
        info: Info,
        filter: Annotated[
            AgentFilter | None,
            strawberry.argument(description="Which agents to list; null lists them all."),
        ] = None,
        order_by: Annotated[
            AgentOrder | None,
            strawberry.argument(description="How to sort them; null: newest first."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> AgentConnection:
        chosen = filter.value() if filter is not None else AgentFilterValue()
        principal = await info.context.principal()
        # Another user's agents are an ADMIN's to list: audited, refused as FORBIDDEN.
        others = chosen.owner_id not in (None, principal.user_id)
        principal = await info.context.authorize(
            "agent.read",
            resource=f"user:{chosen.owner_id}" if others else None,
            permitted=not others or principal.is_admin,
        )
        page = await info.context.services.agents.page(
            principal=principal,
            filter=chosen,
            sorting=agent_sorting(order_by),
            first=first,
            after=after,
        )
        connection = AgentConnection.of(page, AgentEdge, Agent.from_row)
        await read_ahead(info, [edge.node for edge in connection.edges], "edges", "node")
        return connection

    @strawberry.field(description="One agent, if the caller may see it.")
    async def agent(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent's id.")],
    ) -> Agent | None:
        return Agent.from_row(await load_agent(info, str(id), "agent.read"))

    @strawberry.field(description="An agent's state, measured health and metrics.")
    async def agent_status(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent's id.")],
    ) -> AgentStatus:
        return await AgentStatus.load(info, await load_agent(info, str(id), "agent.read"))

    @strawberry.field(description="An agent's log lines, newest first.")
    async def agent_logs(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID, strawberry.argument(description="The agent whose lines to list.")
        ],
        level: LevelAtLeast = None,
        since: Since = None,
        first: First = 50,
        after: After = None,
    ) -> LogConnection:
        row = await load_agent(info, str(agent_id), "agent.read")
        page = await info.context.services.agent_logs.list(
            agent_id=row.id, level=level, since=since, first=first, after=after
        )
        return LogConnection.from_page(page)


@strawberry.type
class AgentMutation:
    @strawberry.mutation(
        description="Creates an agent and starts it (remote: waits for its process)."
    )
    async def create_agent(
        self,
        info: Info,
        input: Annotated[
            AgentConfigInput,
            strawberry.argument(description="Its name, type, configuration and resources."),
        ],
    ) -> Agent:
        principal = await info.context.authorize("agent.create")
        policy = input.approval_policy
        row = await info.context.services.agents.create(
            principal=principal,
            name=input.name,
            type=input.type,
            capabilities=input.capabilities,
            configuration=input.configuration,
            resources=input.resources.as_dict() if input.resources else None,
            approval_policy=policy.value(field="input.approvalPolicy") if policy else None,
        )
        return Agent.from_row(row)

    @strawberry.mutation(description="Changes what the patch names; leaves the rest.")
    async def update_agent(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent to change.")],
        input: Annotated[
            AgentConfigPatch, strawberry.argument(description="What to change; the rest stays.")
        ],
    ) -> Agent:
        row = await load_agent(info, str(id), "agent.update")
        given = input.configuration is not strawberry.UNSET
        policy = input.approval_policy
        updated = await info.context.services.agents.update(
            agent=row,
            name=input.name,
            capabilities=input.capabilities,
            configuration=input.configuration if given else None,
            configuration_given=given,
            resources=input.resources.as_dict() if input.resources else None,
            approval_policy=policy.value(field="input.approvalPolicy") if policy else None,
        )
        return Agent.from_row(updated)

    @strawberry.mutation(
        description="Stops and starts the agent's runtime; emits STATUS_UPDATE events."
    )
    async def restart_agent(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent to restart.")],
    ) -> Agent:
        row = await load_agent(info, str(id), "agent.restart")
        return Agent.from_row(await info.context.services.agents.restart(agent_id=row.id))

    @strawberry.mutation(
        description="Stops the agent's runtime (STOPPED); restartAgent starts it again."
    )
    async def stop_agent(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent to stop.")],
    ) -> Agent:
        row = await load_agent(info, str(id), "agent.restart")
        stopped = await info.context.services.agents.stop(agent_id=row.id, reason="stop")
        return Agent.from_row(stopped)

    @strawberry.mutation(
        description=(
            "Stops the agent, cancels its pending tasks, deletes its logs, events and files. "
            "Returns the id."
        )
    )
    async def delete_agent(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The agent to delete.")],
    ) -> strawberry.ID:
        row = await load_agent(info, str(id), "agent.delete")
        services = info.context.services
        # Before the rows go (ON DELETE CASCADE): PENDING never start, RUNNING are interrupted.
        await services.tasks.cancel_of_agent(agent_id=row.id)
        # Its files' blobs and search passages are not rows: they go first, explicitly.
        await services.files.delete_of_agent(agent_id=row.id)
        return strawberry.ID(await services.agents.delete(agent_id=row.id))

    @strawberry.mutation(
        description=(
            "Runs a command on the agent and waits for its result. Same idempotencyKey from the "
            "same user returns the first result without running again. A command the agent's "
            "approvalPolicy names answers at once with success false and `approval` set; it "
            "runs when approved, its result a COMMAND_RESULT event carrying the approval's id."
        )
    )
    async def send_command(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The agent to run it; it must be RUNNING."),
        ],
        command: Annotated[
            AgentCommandInput, strawberry.argument(description="The command and its parameters.")
        ],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "Up to 200 characters chosen by the client; sent again by the same user, "
                    "it answers the first run's result instead of running the command again."
                )
            ),
        ] = None,
    ) -> CommandResult:
        row = await load_agent(info, str(agent_id), "agent.command")
        principal = await info.context.principal()
        record = await info.context.services.commands.send(
            agent=row,
            user_id=principal.user_id,
            command=command.command,
            params=command.params,
            idempotency_key=idempotency_key,
            requested_with_key=principal.api_key_id,
        )
        return CommandResult.from_record(record)


@strawberry.type
class AgentSubscription:
    @strawberry.subscription(
        description=(
            "Every event of the agent. With `after`, first replays the stored events with "
            "seq > after, then goes live, with no gap and no duplicate."
        )
    )
    async def agent_events(
        self,
        info: Info,
        agent_id: Annotated[strawberry.ID, strawberry.argument(description="The agent to follow.")],
        after: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    "The last seq seen, 0 up to the agent's latest: the events after it are "
                    "replayed first; null sends only live events."
                )
            ),
        ] = None,
    ) -> AsyncGenerator[AgentEvent, None]:
        row = await load_agent(info, str(agent_id), "agent.read")
        await info.context.auditor.flush()
        if after is not None and after < 0:
            raise BadUserInput("`after` is a seq: 0 or more.", field="after")
        if after is not None and after > row.last_event_seq:
            # Nothing is lost by refusing: no client can have seen a seq not yet given out.
            raise BadUserInput(
                f"`after` is beyond the agent's last event ({row.last_event_seq}).", field="after"
            )
        events = info.context.services.events.follow(agent_id=row.id, after=after)
        try:
            # aclosing: a stopped subscription leaves the hub now, not when collected.
            async with aclosing(events):
                async for event in events:
                    yield AgentEvent.from_row(event)
        except Overflow:
            await close_too_slow(info)

    @strawberry.subscription(
        description="The agent's answer to a prompt, chunk by chunk; the last chunk has done: true."
    )
    async def stream_prompt(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The agent to ask; it must be RUNNING."),
        ],
        input: Annotated[
            StreamPromptInput, strawberry.argument(description="The prompt and its options.")
        ],
    ) -> AsyncGenerator[StreamChunk, None]:
        row = await load_agent(info, str(agent_id), "agent.command")
        await info.context.auditor.flush()
        options: JSON | None = input.options
        chunks = info.context.services.commands.prompt(
            agent=row, prompt=input.prompt, options=options
        )
        async with aclosing(chunks):
            async for chunk in chunks:
                yield StreamChunk.from_chunk(chunk)
