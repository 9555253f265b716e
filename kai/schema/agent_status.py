"""An agent's lifecycle state, measured health and metrics."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from kai.context import Info
from kai.models.agent import Agent as AgentRow
from kai.models.agent import AgentState as AgentStateValue
from kai.models.task import TaskState as TaskStateValue
from kai.schema.enums import described_enum
from kai.services import agent_status
from kai.services.agent_config import redact

AgentState = described_enum(
    AgentStateValue,
    name="AgentState",
    description="Where an agent is in its lifecycle.",
    values={
        "STARTING": "Its runtime is starting (remote: its process is attaching).",
        "RUNNING": "Running: it takes commands, prompts and tasks.",
        "STOPPED": (
            "Not running: stopped, or a remote agent with no process attached; restartAgent "
            "starts it, and a remote agent starts when its process attaches."
        ),
        "ERROR": (
            "Its runtime failed to start, or (remote) its process sent no heartbeat in time."
        ),
    },
)


class HealthState(enum.Enum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"


# What kai.services.agent_status.health_of decides.
described_enum(
    HealthState,
    name="HealthState",
    description="How an agent is doing, from what was measured.",
    values={
        "HEALTHY": (
            "RUNNING, with fewer than half of its last 100 commands failed "
            "(remote: heartbeats on time)."
        ),
        "DEGRADED": "RUNNING, but half or more of its last 100 commands failed.",
        "UNHEALTHY": "Not RUNNING, or a remote agent whose process sent no heartbeat in time.",
    },
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

    @classmethod
    async def load(cls, info: Info, row: AgentRow) -> AgentStatus:
        """The status of `row`, its counts through the request's loaders (batched)."""
        loaders = info.context.loaders
        stats, counts = await asyncio.gather(
            loaders.command_stats_by_agent_id.load(row.id),
            loaders.task_counts_by_agent_id.load(row.id),
        )
        timeout = info.context.services.settings.heartbeat_timeout_seconds
        return cls.build(row, stats, task_counts=counts, heartbeat_timeout=timeout)
