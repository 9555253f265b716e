from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info, list_field
from kai.errors import NotFound
from kai.models.task import Task as TaskRow
from kai.models.task import TaskState as TaskStateValue
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.pagination import CountedConnection, Edge

if TYPE_CHECKING:
    from kai.schema.agent import Agent
    from kai.schema.approval import Approval
    from kai.schema.schedule import Schedule

TaskState = described_enum(
    TaskStateValue,
    name="TaskState",
    description=(
        "Where a task is: AWAITING_APPROVAL (when its agent's approvalPolicy asks for a "
        "person), PENDING, RUNNING, then one of the terminal states."
    ),
    values={
        "AWAITING_APPROVAL": (
            "Waiting for a person to decide its approval (Task.approval): approved, it "
            "becomes PENDING; rejected or expired, CANCELLED with the reason as its error."
        ),
        "PENDING": (
            "Waiting to run: queued, delayed, waiting for its agent to run, "
            "or waiting to retry after a failed attempt."
        ),
        "RUNNING": "An attempt is running.",
        "COMPLETED": "Terminal: it finished, with its result.",
        "FAILED": "Terminal: its last attempt failed and no retries were left.",
        "CANCELLED": "Terminal: cancelled before it finished.",
    },
)


@strawberry.type(description="Background work for an agent; the row is the truth.")
class Task(Node):
    id: strawberry.ID = strawberry.field(description="Opaque task id.")
    type: str = strawberry.field(description="One of the agent type's taskTypes.")
    state: TaskState = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    payload: JSON | None = strawberry.field(description="What it was given.")
    progress: float | None = strawberry.field(description="0..1, as last reported by the handler.")
    result: JSON | None = strawberry.field(description="What it returned (COMPLETED).")
    error: str | None = strawberry.field(
        description='Why its last attempt failed ("timeout" past timeoutSeconds).'
    )
    attempts: int = strawberry.field(
        description="How many times execution started (1 + retries used)."
    )
    priority: int = strawberry.field(description="Higher runs first when workers are busy.")
    retries: int = strawberry.field(description="Retries allowed after the first attempt.")
    timeout_seconds: float | None = strawberry.field(
        description='An attempt running longer is stopped and fails with error "timeout" '
        "(the server's default when none was asked for)."
    )
    run_at: datetime = strawberry.field(
        description="When it is due: the end of its delay, or of the backoff before its "
        "next attempt."
    )
    created_at: datetime = strawberry.field(description="When it was queued.")
    started_at: datetime | None = strawberry.field(description="When its latest attempt started.")
    completed_at: datetime | None = strawberry.field(
        description="When it reached a terminal state."
    )
    row: strawberry.Private[TaskRow]

    @strawberry.field(description="The agent that runs it.")
    async def agent(self, info: Info) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")]:
        from kai.schema.agent import Agent

        agent_id = self.row.agent_id
        row = None if agent_id is None else await info.context.loaders.agent_by_id.load(agent_id)
        if row is None:  # the server's own task, or deleted meanwhile with its tasks
            raise NotFound("Agent")
        return Agent.from_row(row)

    @strawberry.field(description="The schedule that created it, if any (and not deleted since).")
    async def schedule(
        self, info: Info
    ) -> Annotated[Schedule, strawberry.lazy("kai.schema.schedule")] | None:
        from kai.schema.schedule import Schedule

        schedule_id = self.row.schedule_id
        if schedule_id is None or self.row.agent_id is None:
            return None
        agent = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        await info.context.authorize(
            "schedule.read",
            resource=f"schedule:{schedule_id}",
            owner_id=agent.owner_id if agent is not None else None,
            found=agent is not None,
            agent_id=self.row.agent_id,
            fold=list_field(info),
        )
        row = await info.context.loaders.schedule_by_id.load(schedule_id)
        return None if row is None else Schedule.from_row(row)

    @strawberry.field(
        description="The approval it waited for (its agent's approvalPolicy names its type); "
        "null for a task that needed none."
    )
    async def approval(
        self, info: Info
    ) -> Annotated[Approval, strawberry.lazy("kai.schema.approval")] | None:
        from kai.schema.approval import Approval

        row = await info.context.loaders.approval_by_task_id.load(self.row.id)
        return None if row is None else Approval.from_row(row)

    @classmethod
    def from_row(cls, row: TaskRow) -> Task:
        return cls(
            id=strawberry.ID(row.id),
            type=row.type,
            state=row.state,
            payload=row.payload,
            progress=row.progress,
            result=row.result,
            error=row.error,
            attempts=row.attempts,
            priority=row.priority,
            retries=row.max_retries,
            timeout_seconds=row.timeout_seconds,
            run_at=row.not_before,
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            row=row,
        )


@strawberry.type(description="A task in a page.")
class TaskEdge(Edge[Task]):
    pass


@strawberry.type(description="A page of tasks.")
class TaskConnection(CountedConnection[TaskEdge]):
    pass


@strawberry.input(description="Background work to queue.")
class TaskInput:
    type: str = strawberry.field(
        description="One of the agent type's taskTypes (remote: the agent's configured ones)."
    )
    payload: JSON | None = strawberry.field(default=None, description="Given to the handler.")
    priority: int | None = strawberry.field(
        default=0, description="-1000..1000; higher runs first when workers are busy."
    )
    delay_seconds: float | None = strawberry.field(
        default=0.0, description="Not started before this many seconds (up to 7 days)."
    )
    retries: int | None = strawberry.field(
        default=0,
        description="Further attempts after a failed one (0..20), with exponential backoff.",
    )
    timeout_seconds: float | None = strawberry.field(
        default=None,
        description='An attempt running longer is stopped and fails with error "timeout".',
    )
