"""`tasks`: a page of tasks across agents, filtered and sorted."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from kai.schema.pagination import OrderDirection, sorting
from kai.schema.task import TaskState
from kai.services.pagination import Sorting
from kai.services.task_queries import TaskFilter as TaskFilterValue


@strawberry.input(description="Which tasks to list; every condition given must hold.")
class TaskFilter:
    agent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the tasks of this agent."
    )
    states: list[TaskState] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only tasks in one of these states (at most 100)."
    )
    types: list[str] | None = strawberry.field(
        default=None, description="Only tasks of one of these types (at most 100)."
    )
    schedule_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the tasks this schedule started."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Only tasks queued after this moment."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Only tasks queued before this moment."
    )

    def value(self) -> TaskFilterValue:
        return TaskFilterValue(
            agent_id=str(self.agent_id) if self.agent_id is not None else None,
            states=self.states,
            types=self.types,
            schedule_id=str(self.schedule_id) if self.schedule_id is not None else None,
            created_after=self.created_after,
            created_before=self.created_before,
        )


@strawberry.enum(description="What tasks can be sorted by (then by id).")
class TaskOrderField(enum.Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was queued.")
    PRIORITY = strawberry.enum_value("PRIORITY", description="Its priority.")


@strawberry.input(description="How to sort tasks.")
class TaskOrder:
    field: TaskOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(description="Which way.")


def task_sorting(order: TaskOrder | None) -> Sorting:
    return sorting(order, "CREATED_AT")
