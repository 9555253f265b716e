from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info, list_field
from kai.errors import NotFound
from kai.models.schedule import Schedule as ScheduleRow
from kai.schema.node import Node
from kai.schema.pagination import After, CountedConnection, Edge
from kai.schema.task import Task, TaskConnection, TaskEdge, TaskInput
from kai.services.schedule_plan import TaskTemplate as TaskTemplateValue

if TYPE_CHECKING:
    from kai.schema.agent import Agent


@strawberry.type(description="What each run of a schedule queues.")
class TaskTemplate:
    type: str = strawberry.field(description="One of the agent type's taskTypes.")
    payload: JSON | None = strawberry.field(description="Given to the handler.")
    priority: int = strawberry.field(description="-1000..1000; higher runs first.")
    retries: int = strawberry.field(description="Further attempts after a failed one.")
    timeout_seconds: float | None = strawberry.field(
        description='An attempt running longer fails with error "timeout" (null: the '
        "server's default)."
    )


@strawberry.type(
    description="Tasks that start themselves: a cron timetable read in a time zone, or one "
    "time. Each due time starts one task, once, whichever replica or worker gets there first."
)
class Schedule(Node):
    id: strawberry.ID = strawberry.field(description="Opaque schedule id.")
    name: str = strawberry.field(description="Up to 100 characters.")
    cron: str | None = strawberry.field(
        description="Five-field cron expression; null for a one-off schedule."
    )
    timezone: str = strawberry.field(description="IANA time zone the cron expression is read in.")
    run_at: datetime | None = strawberry.field(
        description="The one-off run time; null for cron schedules."
    )
    task: TaskTemplate = strawberry.field(description="What each run queues.")
    active: bool = strawberry.field(
        description="False: paused, nothing runs (runs missed while paused are not made up)."
    )
    next_run_at: datetime | None = strawberry.field(
        description="When it is next due; null while paused and after a one-off has run."
    )
    last_run_at: datetime | None = strawberry.field(
        description="The due time of its latest run, or when it was last started by hand."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    row: strawberry.Private[ScheduleRow]

    @strawberry.field(description="The agent its tasks run on.")
    async def agent(self, info: Info) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")]:
        from kai.schema.agent import Agent

        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        if row is None:  # deleted meanwhile, and the schedule with it
            raise NotFound("Agent")
        return Agent.from_row(row)

    @strawberry.field(description="The tasks it started, newest first.")
    async def tasks(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="How many, 1 to 500; 20 when left out.")
        ] = 20,
        after: After = None,
    ) -> TaskConnection:
        agent = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        await info.context.authorize(
            "task.read",
            resource=f"schedule:{self.row.id}",
            owner_id=agent.owner_id if agent is not None else None,
            found=agent is not None,
            agent_id=self.row.agent_id,
            fold=list_field(info),
        )
        page = await info.context.services.schedules.tasks(
            schedule_id=self.row.id, first=first, after=after
        )
        return TaskConnection.of(page, TaskEdge, Task.from_row)

    @classmethod
    def from_row(cls, row: ScheduleRow) -> Schedule:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            cron=row.cron,
            timezone=row.timezone,
            run_at=row.run_at,
            task=TaskTemplate(
                type=row.task_type,
                payload=row.task_payload,
                priority=row.task_priority,
                retries=row.task_retries,
                timeout_seconds=row.task_timeout_seconds,
            ),
            active=row.active,
            next_run_at=row.next_run_at,
            last_run_at=row.last_run_at,
            created_at=row.created_at,
            row=row,
        )


@strawberry.type(description="A schedule in a page.")
class ScheduleEdge(Edge[Schedule]):
    pass


@strawberry.type(description="A page of schedules.")
class ScheduleConnection(CountedConnection[ScheduleEdge]):
    pass


@strawberry.input(description="A new schedule: cron or runAt, and the task each run queues.")
class ScheduleInput:
    name: str = strawberry.field(description="Up to 100 characters.")
    agent_id: strawberry.ID = strawberry.field(description="The agent its tasks run on.")
    cron: str | None = strawberry.field(
        default=None,
        description="Five fields, minute hour day-of-month month day-of-week "
        "(`*/15 * * * *`); runs at least KAI_SCHEDULE_MIN_INTERVAL_SECONDS apart. Give "
        "this or runAt.",
    )
    run_at: datetime | None = strawberry.field(
        default=None, description="One time (with its offset); a past time runs at once."
    )
    timezone: str | None = strawberry.field(
        default="UTC", description="IANA time zone the cron expression is read in."
    )
    task: TaskInput = strawberry.field(
        description="What each run queues (delaySeconds is not taken: a run starts when due)."
    )
    active: bool | None = strawberry.field(default=True, description="False: made paused.")


@strawberry.input(
    description="Changes to a schedule; what is left out stays. A cron makes it a cron "
    "schedule, a runAt a one-off; the next run is found again from now."
)
class SchedulePatch:
    name: str | None = strawberry.field(default=None, description="Up to 100 characters.")
    cron: str | None = strawberry.field(default=None, description="A new timetable.")
    run_at: datetime | None = strawberry.field(default=None, description="A new one time.")
    timezone: str | None = strawberry.field(default=None, description="A new time zone.")
    task: TaskInput | None = strawberry.field(default=None, description="A new task template.")
    active: bool | None = strawberry.field(
        default=None, description="False pauses it; true resumes it from now."
    )


def template(task: TaskInput) -> TaskTemplateValue:
    return TaskTemplateValue(
        type=task.type,
        payload=task.payload,
        priority=task.priority if task.priority is not None else 0,
        retries=task.retries if task.retries is not None else 0,
        timeout_seconds=task.timeout_seconds,
    )
