from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from kai.models.agent import Agent as AgentRow
from kai.models.agent import AgentState as AgentStateValue
from kai.models.agent_event import AgentEvent as AgentEventRow
from kai.models.agent_event import AgentEventType as AgentEventTypeValue
from kai.models.agent_log import AgentLog as AgentLogRow
from kai.models.agent_log import LogLevel as LogLevelValue
from kai.models.command import CommandRecord
from kai.models.task import TaskState as TaskStateValue
from kai.runtimes.base import Runtime
from kai.schema.node import Node
from kai.schema.pagination import PageInfo
from kai.schema.task import TaskConnection, TaskState
from kai.schema.user import User
from kai.services import agent_status
from kai.services.agent_config import redact
from kai.services.command import Chunk
from kai.services.pagination import Page

if TYPE_CHECKING:
    from kai.schema.file import File

AgentState = strawberry.enum(
    AgentStateValue, name="AgentState", description="Where an agent is in its lifecycle."
)
LogLevel = strawberry.enum(LogLevelValue, name="LogLevel", description="Severity of a log line.")
AgentEventType = strawberry.enum(
    AgentEventTypeValue, name="AgentEventType", description="What an agent event reports."
)


@strawberry.enum(description="How an agent is doing, from what was measured.")
class HealthState(enum.Enum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"


@strawberry.type(description="A kind of agent and what configuring it takes.")
class AgentType:
    name: str = strawberry.field(description="e.g. echo, llm, remote")
    description: str = strawberry.field(description="What agents of this type do.")
    config_schema: JSON = strawberry.field(
        description="JSON Schema that AgentConfigInput.configuration must satisfy for this type."
    )
    task_types: list[str] = strawberry.field(
        description=(
            "Task types this agent type accepts in enqueueTask "
            "(remote: each agent's own, its configuration's taskTypes)."
        )
    )

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> AgentType:
        return cls(
            name=runtime.name,
            description=runtime.description,
            config_schema=JSON(runtime.config_schema),
            task_types=list(runtime.task_types),
        )


@strawberry.type(description="What the agent asks of its host (informational).")
class Resources:
    memory: str = strawberry.field(description="Memory, as a quantity like 512Mi.")
    cpu: str = strawberry.field(description="CPU, like 0.5 or 500m.")
    storage: str = strawberry.field(description="Storage, as a quantity like 1Gi.")
    gpu: bool = strawberry.field(description="Whether it wants a GPU.")


@strawberry.type(
    description="Measured, never invented: a value the runtime cannot measure is null."
)
class Health:
    status: HealthState = strawberry.field(
        description="From state, heartbeats and recent commands."
    )
    uptime: float = strawberry.field(
        description="Seconds since the agent last entered RUNNING; 0 when not running."
    )
    memory_usage: float | None = strawberry.field(
        description="Fraction 0..1, reported by the runtime (remote agents via heartbeat)."
    )
    cpu_usage: float | None = strawberry.field(
        description="Fraction 0..1, reported by the runtime (remote agents via heartbeat)."
    )
    response_time: float | None = strawberry.field(
        description="Mean command latency in ms over the recent window."
    )


@strawberry.type(description="Counts and timings of the agent's work.")
class AgentMetrics:
    commands_total: int = strawberry.field(description="Commands that finished.")
    commands_failed: int = strawberry.field(description="Of those, the ones that failed.")
    tasks_pending: int = strawberry.field(description="Tasks waiting to run.")
    tasks_running: int = strawberry.field(description="Tasks running now.")
    tasks_completed: int = strawberry.field(description="Tasks that completed.")
    tasks_failed: int = strawberry.field(description="Tasks that failed.")
    mean_response_ms: float | None = strawberry.field(
        description="Mean command latency over the last 100 commands."
    )
    p95_response_ms: float | None = strawberry.field(
        description="95th percentile (nearest rank) command latency over the last 100 commands."
    )


@strawberry.type(description="An agent's state, health and metrics.")
class AgentStatus:
    id: strawberry.ID = strawberry.field(description="The agent's id.")
    state: AgentState = strawberry.field(description="Lifecycle state.")  # type: ignore[valid-type]
    last_seen: datetime | None = strawberry.field(description="Last sign of life of the process.")
    health: Health = strawberry.field(description="Measured health.")
    metrics: AgentMetrics = strawberry.field(description="Measured counts and timings.")
    configuration: JSON = strawberry.field(description="Configuration, secrets redacted.")

    @classmethod
    def build(
        cls,
        row: AgentRow,
        stats: agent_status.CommandStats,
        *,
        task_counts: Mapping[TaskStateValue, int],
        heartbeat_timeout: float,
    ) -> AgentStatus:
        health = agent_status.health_of(row, stats, heartbeat_timeout=heartbeat_timeout)
        return cls(
            id=strawberry.ID(row.id),
            state=row.state,
            last_seen=row.last_seen,
            health=Health(
                status=HealthState(health.status),
                uptime=health.uptime,
                memory_usage=health.memory_usage,
                cpu_usage=health.cpu_usage,
                response_time=health.response_time,
            ),
            metrics=AgentMetrics(
                commands_total=stats.total,
                commands_failed=stats.failed,
                tasks_pending=task_counts.get(TaskStateValue.PENDING, 0),
                tasks_running=task_counts.get(TaskStateValue.RUNNING, 0),
                tasks_completed=task_counts.get(TaskStateValue.COMPLETED, 0),
                tasks_failed=task_counts.get(TaskStateValue.FAILED, 0),
                mean_response_ms=stats.mean_ms,
                p95_response_ms=stats.p95_ms,
            ),
            configuration=redact(row.configuration),
        )


@strawberry.type(description="One log line of an agent.")
class LogEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    agent_id: strawberry.ID = strawberry.field(description="The agent that logged it.")
    level: LogLevel = strawberry.field(description="Severity.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="The text.")
    data: JSON | None = strawberry.field(description="Structured detail, if any.")
    timestamp: datetime = strawberry.field(description="When it was logged.")

    @classmethod
    def from_row(cls, row: AgentLogRow) -> LogEntry:
        return cls(
            id=strawberry.ID(f"log_{row.id}"),
            agent_id=strawberry.ID(row.agent_id),
            level=row.level,
            message=row.message,
            data=JSON(row.data),
            timestamp=row.timestamp,
        )


@strawberry.type(description="A log line in a page.")
class LogEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this line.")
    node: LogEntry = strawberry.field(description="The log line.")


@strawberry.type(description="A page of log lines, newest first.")
class LogConnection:
    edges: list[LogEdge] = strawberry.field(description="The lines of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow.")

    @classmethod
    def from_page(cls, page: Page[AgentLogRow]) -> LogConnection:
        return cls(
            edges=[
                LogEdge(cursor=cursor, node=LogEntry.from_row(row))
                for row, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )


@strawberry.type(description="An agent: its configuration, state and work.")
class Agent(Node):
    id: strawberry.ID = strawberry.field(description="Opaque agent id.")
    name: str = strawberry.field(description="Display name.")
    type: str = strawberry.field(description="Its agent type (see agentTypes).")
    capabilities: list[str] = strawberry.field(description="Free-form capability tags.")
    configuration: JSON = strawberry.field(
        description=(
            "Configuration with secret values (keys named like *key, *secret, *token, "
            "*password) redacted."
        )
    )
    resources: Resources = strawberry.field(description="What it asks of its host.")
    state: AgentState = strawberry.field(description="Lifecycle state.")  # type: ignore[valid-type]
    last_seen: datetime | None = strawberry.field(description="Last sign of life of the process.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[AgentRow]

    @strawberry.field(description="Who owns it.")
    async def owner(self, info: strawberry.Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.owner_id)
        return User.from_row(user)

    @strawberry.field(description="State, measured health and metrics.")
    async def status(self, info: strawberry.Info) -> AgentStatus:
        loaders = info.context.loaders
        stats, counts = await asyncio.gather(
            loaders.command_stats_by_agent_id.load(self.row.id),
            loaders.task_counts_by_agent_id.load(self.row.id),
        )
        timeout = info.context.services.settings.heartbeat_timeout_seconds
        return AgentStatus.build(self.row, stats, task_counts=counts, heartbeat_timeout=timeout)

    @strawberry.field(
        description="Its log lines, newest first; `level` keeps that level and above."
    )
    async def logs(
        self,
        info: strawberry.Info,
        level: LogLevel | None = None,  # type: ignore[valid-type]
        since: datetime | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> LogConnection:
        page = await info.context.loaders.logs_by_agent_id.load(
            (self.row.id, (level, since, first, after))
        )
        return LogConnection.from_page(page)

    @strawberry.field(description="Its tasks, newest first; `state` keeps those in that state.")
    async def tasks(
        self,
        info: strawberry.Info,
        state: TaskState | None = None,  # type: ignore[valid-type]
        first: int | None = 50,
        after: str | None = None,
    ) -> TaskConnection:
        await info.context.authorize(
            "task.read",
            resource=f"agent:{self.row.id}",
            owner_id=self.row.owner_id,
            agent_id=self.row.id,
        )
        page = await info.context.loaders.tasks_by_agent_id.load(
            (self.row.id, (state, first, after))
        )
        return TaskConnection.from_page(page)

    @strawberry.field(description="Files uploaded for it, newest first.")
    async def files(
        self, info: strawberry.Info
    ) -> list[Annotated[File, strawberry.lazy("kai.schema.file")]]:
        from kai.schema.file import File

        await info.context.authorize(
            "file.download",
            resource=f"agent:{self.row.id}",
            owner_id=self.row.owner_id,
            agent_id=self.row.id,
        )
        rows = await info.context.loaders.files_by_agent_id.load(self.row.id)
        return [File.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: AgentRow) -> Agent:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            type=row.type,
            capabilities=list(row.capabilities),
            configuration=redact(row.configuration),
            resources=Resources(**row.resources),
            state=row.state,
            last_seen=row.last_seen,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )


@strawberry.type(description="The outcome of a command.")
class CommandResult:
    success: bool = strawberry.field(description="Whether the command succeeded.")
    result: JSON | None = strawberry.field(description="What it returned.")
    error: str | None = strawberry.field(description="Why it failed.")
    timestamp: datetime = strawberry.field(description="When it finished.")
    duration_ms: float = strawberry.field(description="How long it ran, in milliseconds.")

    @classmethod
    def from_record(cls, record: CommandRecord) -> CommandResult:
        return cls(
            success=bool(record.success),
            result=record.result,
            error=record.error,
            timestamp=record.completed_at or record.created_at,
            duration_ms=record.duration_ms or 0.0,
        )


@strawberry.type(description="Something that happened to an agent, numbered in order.")
class AgentEvent:
    seq: int = strawberry.field(
        description=(
            "Per agent, strictly increasing, no gaps. "
            "Pass the last one seen as agentEvents(after:) to resume."
        )
    )
    agent_id: strawberry.ID = strawberry.field(description="The agent.")
    type: AgentEventType = strawberry.field(description="What it reports.")  # type: ignore[valid-type]
    data: JSON = strawberry.field(description="The details, by type.")
    timestamp: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_row(cls, row: AgentEventRow) -> AgentEvent:
        return cls(
            seq=row.seq,
            agent_id=strawberry.ID(row.agent_id),
            type=row.type,
            data=JSON(row.data),
            timestamp=row.timestamp,
        )


@strawberry.type(description="A piece of an agent's streamed answer.")
class StreamChunk:
    stream_id: strawberry.ID = strawberry.field(description="Names this answer.")
    index: int = strawberry.field(description="0, 1, 2, ... in order.")
    delta: str = strawberry.field(description="The next piece of text.")
    done: bool = strawberry.field(description="True on the last chunk only.")

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> StreamChunk:
        return cls(
            stream_id=strawberry.ID(chunk.stream_id),
            index=chunk.index,
            delta=chunk.delta,
            done=chunk.done,
        )


@strawberry.input(description="What the agent asks of its host.")
class ResourcesInput:
    memory: str | None = strawberry.field(default="512Mi", description="e.g. 512Mi")
    cpu: str | None = strawberry.field(default="0.5", description="e.g. 0.5 or 500m")
    storage: str | None = strawberry.field(default="1Gi", description="e.g. 1Gi")
    gpu: bool | None = strawberry.field(default=False, description="Whether it wants a GPU.")

    def as_dict(self) -> dict[str, Any]:
        return {"memory": self.memory, "cpu": self.cpu, "storage": self.storage, "gpu": self.gpu}


@strawberry.input(description="A new agent.")
class AgentConfigInput:
    name: str = strawberry.field(description="1 to 100 characters.")
    type: str = strawberry.field(description="One of agentTypes.")
    capabilities: list[str] | None = strawberry.field(
        default_factory=list, description="Free-form tags."
    )
    configuration: JSON | None = strawberry.field(
        default_factory=dict, description="Must satisfy the type's configSchema."
    )
    resources: ResourcesInput | None = strawberry.field(
        default=None, description="Defaults as in ResourcesInput."
    )


@strawberry.input(description="Changes to an agent; what is left out stays as it is.")
class AgentConfigPatch:
    name: str | None = strawberry.field(default=None, description="A new name.")
    capabilities: list[str] | None = strawberry.field(default=None, description="New tags.")
    configuration: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new configuration; redacted secrets sent back keep their stored value.",
    )
    resources: ResourcesInput | None = strawberry.field(
        default=None, description="New resource requests."
    )


@strawberry.input(description="A command for an agent.")
class AgentCommandInput:
    command: str = strawberry.field(description="The command's name.")
    params: JSON | None = strawberry.field(default_factory=dict, description="Its parameters.")


@strawberry.input(description="A prompt for an agent.")
class StreamPromptInput:
    prompt: str = strawberry.field(description="The text.")
    options: JSON | None = strawberry.field(default=None, description="Runtime-specific options.")
