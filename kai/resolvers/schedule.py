from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.errors import BadUserInput
from kai.models.agent import Agent as AgentRow
from kai.models.schedule import Schedule as ScheduleRow
from kai.resolvers.agent import load_agent
from kai.schema.pagination import After, First
from kai.schema.schedule import (
    Schedule,
    ScheduleConnection,
    ScheduleEdge,
    ScheduleInput,
    SchedulePatch,
    template,
)
from kai.schema.task import Task, TaskInput
from kai.services.schedule_plan import SchedulePlan

ScheduleId = Annotated[strawberry.ID, strawberry.argument(description="The schedule's id.")]


async def load_schedule(
    info: Info, schedule_id: str, permission: str
) -> tuple[ScheduleRow, AgentRow]:
    """The schedule and its agent, if the caller holds `permission` on that agent; else
    FORBIDDEN or NOT_FOUND (audited). Ownership is the agent's, as for its tasks."""
    services = info.context.services
    row = await services.schedules.get(schedule_id=schedule_id)
    agent = await services.agents.get(agent_id=row.agent_id) if row is not None else None
    await info.context.authorize(
        permission,
        resource=f"schedule:{schedule_id}",
        owner_id=agent.owner_id if agent is not None else None,
        found=row is not None and agent is not None,
        agent_id=row.agent_id if row is not None else None,
    )
    assert row is not None and agent is not None
    return row, agent


def _no_delay(task: TaskInput | None) -> None:
    if task is not None and task.delay_seconds:
        raise BadUserInput(
            "A schedule's task starts when due: delaySeconds is not taken.",
            field="input.task.delaySeconds",
        )


@strawberry.type
class ScheduleQuery:
    @strawberry.field(
        description="The schedules of the caller's agents (every one for ADMIN), newest first."
    )
    async def schedules(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this agent's; null: all of them."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> ScheduleConnection:
        if agent_id is not None:
            await load_agent(info, str(agent_id), "schedule.read")
            principal = await info.context.principal()
        else:
            principal = await info.context.authorize("schedule.read", resource="schedule:*")
        page = await info.context.services.schedules.page(
            principal=principal,
            agent_id=str(agent_id) if agent_id is not None else None,
            first=first,
            after=after,
        )
        return ScheduleConnection.of(page, ScheduleEdge, Schedule.from_row)

    @strawberry.field(description="One schedule, if the caller may see it.")
    async def schedule(self, info: Info, id: ScheduleId) -> Schedule | None:
        row, _ = await load_schedule(info, str(id), "schedule.read")
        return Schedule.from_row(row)


@strawberry.type
class ScheduleMutation:
    @strawberry.mutation(
        description="A new schedule on one of the caller's agents. An invalid cron or time "
        "zone is BAD_USER_INPUT naming the field; past KAI_QUOTA_SCHEDULES_PER_USER, "
        "QUOTA_EXCEEDED."
    )
    async def create_schedule(
        self,
        info: Info,
        input: Annotated[ScheduleInput, strawberry.argument(description="Its timetable and task.")],
    ) -> Schedule:
        agent = await load_agent(info, str(input.agent_id), "schedule.manage")
        principal = await info.context.principal()
        _no_delay(input.task)
        async with info.context.auditor.sharing() as audit:
            row = await info.context.services.schedules.create(
                agent=agent,
                owner_id=principal.user_id,
                name=input.name,
                cron=input.cron,
                timezone=input.timezone or "UTC",
                run_at=input.run_at,
                task=template(input.task),
                active=input.active if input.active is not None else True,
                also=audit,
            )
        return Schedule.from_row(row)

    @strawberry.mutation(description="Changes a schedule; its next run is found again from now.")
    async def update_schedule(
        self,
        info: Info,
        id: ScheduleId,
        input: Annotated[
            SchedulePatch, strawberry.argument(description="What to change; the rest stays.")
        ],
    ) -> Schedule:
        row, agent = await load_schedule(info, str(id), "schedule.manage")
        _no_delay(input.task)
        changes = SchedulePlan(
            name=input.name,
            cron=input.cron,
            timezone=input.timezone,
            run_at=input.run_at,
            task=template(input.task) if input.task is not None else None,
            active=input.active,
        )
        async with info.context.auditor.sharing() as audit:
            updated = await info.context.services.schedules.update(
                schedule=row, agent=agent, changes=changes, also=audit
            )
        return Schedule.from_row(updated)

    @strawberry.mutation(
        description="Deletes a schedule and returns its id; tasks it started keep running."
    )
    async def delete_schedule(self, info: Info, id: ScheduleId) -> strawberry.ID:
        row, _ = await load_schedule(info, str(id), "schedule.manage")
        async with info.context.auditor.sharing() as audit:
            await info.context.services.schedules.delete(schedule_id=row.id, also=audit)
        return strawberry.ID(row.id)

    @strawberry.mutation(description="Starts the schedule's task now, outside its timetable.")
    async def run_schedule_now(self, info: Info, id: ScheduleId) -> Task:
        row, agent = await load_schedule(info, str(id), "schedule.manage")
        # Queuing a task is task.create's, whatever started it.
        await info.context.authorize(
            "task.create", resource=f"agent:{agent.id}", owner_id=agent.owner_id, agent_id=agent.id
        )
        async with info.context.auditor.sharing() as audit:
            task = await info.context.services.schedules.run_now(
                schedule=row, agent=agent, also=audit
            )
        return Task.from_row(task)
