from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from kai.context import Info
from kai.models.task import TERMINAL, TaskState
from kai.models.task import Task as TaskRow
from kai.resolvers.agent import load_agent
from kai.runtimes.base import accepted_task_types
from kai.schema.pagination import After, First
from kai.schema.task import Task, TaskConnection, TaskEdge, TaskInput
from kai.schema.task_list import TaskFilter, TaskOrder, task_sorting
from kai.services.agent import handle
from kai.services.task_queries import TaskFilter as TaskFilterValue

# How long cancelTask waits for a RUNNING task's worker to stop it before answering.
CANCEL_WAIT_SECONDS = 2.0


async def load_task(info: Info, task_id: str, permission: str) -> TaskRow:
    """The task, if the caller holds `permission` on its agent; else FORBIDDEN or NOT_FOUND.

    Ownership is the agent's: its owner (and ADMIN) acts on every task of it, an
    API key only on the tasks of the agents it is limited to. Audited either way.
    """
    services = info.context.services
    row = await services.tasks.get(task_id=task_id)
    # The server's own tasks (no agent) are not the API's to show.
    agent = (
        await services.agents.get(agent_id=row.agent_id)
        if row is not None and row.agent_id is not None
        else None
    )
    await info.context.authorize(
        permission,
        resource=f"task:{task_id}",
        owner_id=agent.owner_id if agent is not None else None,
        found=row is not None and agent is not None,
        agent_id=row.agent_id if row is not None else None,
    )
    assert row is not None
    return row


@strawberry.type
class TaskQuery:
    @strawberry.field(description="One task, if the caller may see it.")
    async def task(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The task's id.")],
    ) -> Task | None:
        return Task.from_row(await load_task(info, str(id), "task.read"))

    @strawberry.field(
        description="The tasks of the caller's agents (every task for ADMIN). Newest first "
        "unless `orderBy` says otherwise."
    )
    async def tasks(
        self,
        info: Info,
        filter: Annotated[
            TaskFilter | None,
            strawberry.argument(description="Which tasks to list; null lists them all."),
        ] = None,
        order_by: Annotated[
            TaskOrder | None,
            strawberry.argument(description="How to sort them; null: newest first."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> TaskConnection:
        chosen = filter.value() if filter is not None else TaskFilterValue()
        if chosen.agent_id is not None:
            await load_agent(info, chosen.agent_id, "task.read")
            principal = await info.context.principal()
        else:
            principal = await info.context.authorize("task.read", resource="task:*")
        page = await info.context.services.tasks.page(
            principal=principal,
            filter=chosen,
            sorting=task_sorting(order_by),
            first=first,
            after=after,
        )
        return TaskConnection.of(page, TaskEdge, Task.from_row)


@strawberry.type
class TaskMutation:
    @strawberry.mutation(
        description=(
            "Queues background work; follow it with task(id) or taskUpdates. "
            "Same idempotencyKey returns the same task. A type the agent's approvalPolicy "
            "names is queued AWAITING_APPROVAL, and runs once approved."
        )
    )
    async def enqueue_task(
        self,
        info: Info,
        agent_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The agent to run it; it starts once that agent is RUNNING."
            ),
        ],
        input: Annotated[
            TaskInput,
            strawberry.argument(
                description="What to run, and its priority, delay, retries and timeout."
            ),
        ],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "Up to 200 characters chosen by the client; sent again by the same user, "
                    "it returns the task first queued with it (CONFLICT if that task is "
                    "another agent's) instead of queueing another."
                )
            ),
        ] = None,
    ) -> Task:
        agent = await load_agent(info, str(agent_id), "task.create")
        principal = await info.context.principal()
        services = info.context.services
        runtime = services.agents.runtimes.get(agent.type)
        # The checks' audit rows go in the task's own transaction: one write, not two.
        async with info.context.auditor.sharing() as audit:
            row = await services.tasks.enqueue(
                agent=agent,
                owner_id=principal.user_id,
                task_types=accepted_task_types(runtime, handle(agent)),
                type=input.type,
                payload=input.payload,
                priority=input.priority if input.priority is not None else 0,
                delay_seconds=input.delay_seconds if input.delay_seconds is not None else 0.0,
                retries=input.retries if input.retries is not None else 0,
                timeout_seconds=input.timeout_seconds,
                idempotency_key=idempotency_key,
                also=audit,
                requested_with_key=principal.api_key_id,
            )
        return Task.from_row(row)

    @strawberry.mutation(
        description=(
            "PENDING tasks never start; RUNNING ones are interrupted; AWAITING_APPROVAL ones "
            "end with their approval withdrawn (REJECTED). Terminal tasks are returned unchanged."
        )
    )
    async def cancel_task(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The task to cancel.")],
    ) -> Task:
        row = await load_task(info, str(id), "task.cancel")
        services = info.context.services
        tasks = services.tasks
        if row.state is TaskState.AWAITING_APPROVAL:
            principal = await info.context.principal()
            # Withdrawn with the task, unless a decision came first (then as below).
            await services.approvals.cancel_task(task_id=row.id, cancelled_by=principal.user_id)
        row = await tasks.cancel(task_id=row.id)
        if row.state not in TERMINAL:
            # RUNNING: its worker was told; answer with the outcome when it comes soon.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CANCEL_WAIT_SECONDS):
                    updates = tasks.watch(task_id=row.id)
                    async with aclosing(updates):
                        async for update in updates:
                            row = update
        return Task.from_row(row)


@strawberry.type
class TaskSubscription:
    @strawberry.subscription(
        description="The task on every state or progress change; completes after a terminal state."
    )
    async def task_updates(
        self,
        info: Info,
        task_id: Annotated[strawberry.ID, strawberry.argument(description="The task to follow.")],
    ) -> AsyncGenerator[Task, None]:
        row = await load_task(info, str(task_id), "task.read")
        await info.context.auditor.flush()
        updates = info.context.services.tasks.watch(task_id=row.id)
        async with aclosing(updates):
            async for update in updates:
                # Each result reads related objects afresh (its agent), not the first answer.
                info.context.renew_loaders()
                yield Task.from_row(update)
