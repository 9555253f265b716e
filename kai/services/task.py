"""Background tasks as stored rows: enqueue, cancel, claim, progress, finish, retry.

Every state change is a guarded UPDATE (`WHERE state = ...`), so a CANCELLED task
never becomes RUNNING and a finished one never changes, whichever process races.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import transaction
from kai.errors import BadUserInput, ServiceUnavailable
from kai.events.log import EventLog, append_event
from kai.models.agent import Agent
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.task import TERMINAL, Task, TaskState
from kai.services.validation import bounded_text
from kai.workers.dispatch import Dispatcher

log = logging.getLogger(__name__)

MAX_RETRIES = 20
MAX_DELAY_SECONDS = 7 * 24 * 3600
MAX_TIMEOUT_SECONDS = 24 * 3600
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0


def backoff(attempt: int, base: float = BACKOFF_BASE_SECONDS) -> float:
    """Exponential: base, 2 base, 4 base, ... capped."""
    return float(min(base * 2 ** max(attempt - 1, 0), BACKOFF_MAX_SECONDS))


def task_event_data(task: Task) -> dict[str, Any]:
    return {
        "taskId": task.id,
        "type": task.type,
        "state": task.state.value,
        "progress": task.progress,
        "attempts": task.attempts,
        "result": task.result,
        "error": task.error,
    }


class TaskService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: EventLog,
        dispatcher: Dispatcher,
        backoff_base_seconds: float = BACKOFF_BASE_SECONDS,
    ):
        self._sessionmaker = sessionmaker
        self._events = events
        self.dispatcher = dispatcher
        self._backoff_base = backoff_base_seconds

    async def enqueue(
        self,
        *,
        agent: Agent,
        owner_id: str,
        task_types: Sequence[str],
        type: str,
        payload: Any,
        priority: int,
        delay_seconds: float,
        retries: int,
        timeout_seconds: float | None,
        idempotency_key: str | None,
    ) -> Task:
        if type not in task_types:
            known = ", ".join(task_types) or "none"
            raise BadUserInput(
                f"Agents of type {agent.type} take no {type!r} tasks (they take: {known}).",
                field="input.type",
            )
        if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise BadUserInput("delaySeconds must be 0 to 7 days.", field="input.delaySeconds")
        if not 0 <= retries <= MAX_RETRIES:
            raise BadUserInput(f"retries must be 0 to {MAX_RETRIES}.", field="input.retries")
        if timeout_seconds is not None and not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise BadUserInput(
                "timeoutSeconds must be above 0, at most a day.", field="input.timeoutSeconds"
            )
        if not -1000 <= priority <= 1000:
            raise BadUserInput("priority must be -1000 to 1000.", field="input.priority")
        key = bounded_text(idempotency_key, field="idempotencyKey", max_length=200)
        if key is not None and (earlier := await self._by_key(owner_id, key)) is not None:
            return earlier
        now = utcnow()
        task = Task(
            agent_id=agent.id,
            owner_id=owner_id,
            idempotency_key=key,
            type=type,
            payload=payload,
            priority=priority,
            max_retries=retries,
            timeout_seconds=timeout_seconds,
            not_before=now + timedelta(seconds=delay_seconds),
            created_at=now,
        )
        try:
            async with transaction(self._sessionmaker) as session:
                session.add(task)
        except IntegrityError:
            earlier = await self._by_key(owner_id, key or "")
            assert earlier is not None
            return earlier
        # Committed first, then sent: a worker never looks for a row that is not there.
        if delay_seconds == 0:
            await self._dispatch_or_fail(task)
        return await self.get(task_id=task.id) or task

    async def _dispatch_or_fail(self, task: Task) -> None:
        try:
            await self.dispatch(task.id)
        except Exception as exc:
            log.warning("broker refused task %s: %r", task.id, exc)
            # The client hears SERVICE_UNAVAILABLE, so the task must never run
            # later behind its back: it ends here, visibly.
            await self.finish(
                task_id=task.id,
                state=TaskState.FAILED,
                error="the task broker was unavailable",
                expect=(TaskState.PENDING,),
            )
            raise ServiceUnavailable(
                "The task broker is unavailable; the task was not queued."
            ) from exc

    async def dispatch(self, task_id: str) -> None:
        """Send a wake-up for a due task, once: `dispatched` flips in the same statement."""
        async with transaction(self._sessionmaker) as session:
            marked = await session.execute(
                update(Task)
                .where(
                    col(Task.id) == task_id,
                    col(Task.state) == TaskState.PENDING,
                    col(Task.dispatched).is_(False),
                )
                .values(dispatched=True)
            )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            return
        try:
            await self.dispatcher.dispatch(task_id)
        except Exception:
            async with transaction(self._sessionmaker) as session:
                await session.execute(
                    update(Task).where(col(Task.id) == task_id).values(dispatched=False)
                )
            raise

    async def dispatch_due(self, *, limit: int = 500) -> int:
        """Wake workers for PENDING tasks that are due and have no message out."""
        async with self._sessionmaker() as session:
            due = (
                await session.scalars(
                    select(col(Task.id))
                    .where(
                        col(Task.state) == TaskState.PENDING,
                        col(Task.dispatched).is_(False),
                        col(Task.not_before) <= utcnow(),
                    )
                    .order_by(col(Task.priority).desc(), col(Task.created_at))
                    .limit(limit)
                )
            ).all()
        sent = 0
        for task_id in due:
            try:
                await self.dispatch(task_id)
                sent += 1
            except Exception as exc:  # the broker is down: try again on the next sweep
                log.warning("could not dispatch due task %s: %r", task_id, exc)
                break
        return sent

    async def get(self, *, task_id: str) -> Task | None:
        async with self._sessionmaker() as session:
            return await session.get(Task, task_id, populate_existing=True)

    async def cancel(self, *, task_id: str) -> Task:
        """PENDING never starts; RUNNING is interrupted by whichever worker holds it."""
        cancelled = await self.finish(
            task_id=task_id, state=TaskState.CANCELLED, expect=(TaskState.PENDING,)
        )
        if cancelled is not None:
            return cancelled
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Task)
                .where(col(Task.id) == task_id, col(Task.state) == TaskState.RUNNING)
                .values(cancel_requested=True)
            )
        await self.dispatcher.cancel(task_id)
        task = await self.get(task_id=task_id)
        assert task is not None
        return task

    async def finish(
        self,
        *,
        task_id: str,
        state: TaskState,
        expect: Sequence[TaskState],
        result: Any = None,
        error: str | None = None,
        worker_id: str | None = None,
    ) -> Task | None:
        """Move to a terminal `state` from one of `expect`; None if the task was elsewhere."""
        assert state in TERMINAL
        conditions = [col(Task.id) == task_id, col(Task.state).in_(list(expect))]
        if worker_id is not None:
            conditions.append(col(Task.worker_id) == worker_id)
        async with transaction(self._sessionmaker) as session:
            moved = await session.execute(
                update(Task)
                .where(*conditions)
                .values(
                    state=state,
                    result=result,
                    error=error,
                    completed_at=utcnow(),
                    progress=1.0 if state is TaskState.COMPLETED else Task.progress,
                )
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            task = await session.get_one(Task, task_id, populate_existing=True)
            event = await append_event(
                session,
                agent_id=task.agent_id,
                type=AgentEventType.TASK_COMPLETE,
                data=task_event_data(task),
            )
        await self._events.publish([event])
        return task

    async def claim(self, *, task_id: str | None, worker_id: str) -> Task | None:
        """Take a due PENDING task (the best one, or `task_id`) and mark it RUNNING."""
        for _ in range(5):
            async with self._sessionmaker() as session:
                # Only tasks with a wake-up out: a wake-up then always finds work for
                # the task it was sent for, or for a better one that has its own.
                query = select(col(Task.id)).where(
                    col(Task.state) == TaskState.PENDING,
                    col(Task.dispatched).is_(True),
                    col(Task.not_before) <= utcnow(),
                )
                if task_id is not None:
                    query = query.where(col(Task.id) == task_id)
                candidate = await session.scalar(
                    query.order_by(col(Task.priority).desc(), col(Task.created_at)).limit(1)
                )
            if candidate is None:
                return None
            now = utcnow()
            async with transaction(self._sessionmaker) as session:
                taken = await session.execute(
                    update(Task)
                    .where(col(Task.id) == candidate, col(Task.state) == TaskState.PENDING)
                    .values(
                        state=TaskState.RUNNING,
                        worker_id=worker_id,
                        attempts=col(Task.attempts) + 1,
                        started_at=now,
                        heartbeat_at=now,
                        dispatched=False,
                        cancel_requested=False,
                    )
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker took it first
                task = await session.get_one(Task, candidate, populate_existing=True)
                event = await append_event(
                    session,
                    agent_id=task.agent_id,
                    type=AgentEventType.TASK_PROGRESS,
                    data=task_event_data(task),
                )
            await self._events.publish([event])
            return task
        return None

    async def progress(self, *, task_id: str, worker_id: str, progress: float) -> bool:
        """Record progress (0..1); False when the task is no longer this worker's to run."""
        progress = min(max(float(progress), 0.0), 1.0)
        async with transaction(self._sessionmaker) as session:
            moved = await session.execute(
                update(Task)
                .where(
                    col(Task.id) == task_id,
                    col(Task.state) == TaskState.RUNNING,
                    col(Task.worker_id) == worker_id,
                )
                .values(progress=progress, heartbeat_at=utcnow())
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            task = await session.get_one(Task, task_id, populate_existing=True)
            event = await append_event(
                session,
                agent_id=task.agent_id,
                type=AgentEventType.TASK_PROGRESS,
                data=task_event_data(task),
            )
        await self._events.publish([event])
        return True

    async def heartbeat(self, *, task_ids: Sequence[str], worker_id: str) -> set[str]:
        """Refresh the lease of running tasks; returns those whose cancel was asked for."""
        if not task_ids:
            return set()
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Task)
                .where(col(Task.id).in_(task_ids), col(Task.worker_id) == worker_id)
                .values(heartbeat_at=utcnow())
            )
            asked = await session.scalars(
                select(col(Task.id)).where(
                    col(Task.id).in_(task_ids), col(Task.cancel_requested).is_(True)
                )
            )
            return set(asked.all())

    async def retry_or_fail(self, *, task: Task, error: str, worker_id: str | None) -> Task | None:
        """After a failed attempt: PENDING again after a backoff, or FAILED when out of retries."""
        if task.attempts > task.max_retries:
            return await self.finish(
                task_id=task.id,
                state=TaskState.FAILED,
                error=error,
                expect=(TaskState.RUNNING,),
                worker_id=worker_id,
            )
        delay = backoff(task.attempts, self._backoff_base)
        conditions = [col(Task.id) == task.id, col(Task.state) == TaskState.RUNNING]
        if worker_id is not None:
            conditions.append(col(Task.worker_id) == worker_id)
        async with transaction(self._sessionmaker) as session:
            moved = await session.execute(
                update(Task)
                .where(*conditions)
                .values(
                    state=TaskState.PENDING,
                    error=error,
                    worker_id=None,
                    dispatched=False,
                    not_before=utcnow() + timedelta(seconds=delay),
                )
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            retried = await session.get_one(Task, task.id, populate_existing=True)
            event = await append_event(
                session,
                agent_id=retried.agent_id,
                type=AgentEventType.TASK_PROGRESS,
                data=task_event_data(retried),
            )
        await self._events.publish([event])
        return retried

    async def stale(self, *, older_than: datetime) -> Sequence[Task]:
        """RUNNING tasks whose worker stopped heartbeating."""
        async with self._sessionmaker() as session:
            return (
                await session.scalars(
                    select(Task).where(
                        col(Task.state) == TaskState.RUNNING, col(Task.heartbeat_at) < older_than
                    )
                )
            ).all()

    async def cancel_pending_of_agent(self, *, agent_id: str) -> int:
        async with self._sessionmaker() as session:
            pending = (
                await session.scalars(
                    select(col(Task.id)).where(
                        col(Task.agent_id) == agent_id, col(Task.state) == TaskState.PENDING
                    )
                )
            ).all()
        for task_id in pending:
            await self.cancel(task_id=task_id)
        return len(pending)

    async def counts(self, agent_ids: Sequence[str]) -> dict[str, dict[TaskState, int]]:
        async with self._sessionmaker() as session:
            rows = (
                await session.execute(
                    select(col(Task.agent_id), col(Task.state), func.count())
                    .where(col(Task.agent_id).in_(agent_ids))
                    .group_by(col(Task.agent_id), col(Task.state))
                )
            ).all()
        out: dict[str, dict[TaskState, int]] = {}
        for agent_id, state, count in rows:
            out.setdefault(agent_id, {})[TaskState(state)] = int(count)
        return out

    async def _by_key(self, owner_id: str, key: str) -> Task | None:
        async with self._sessionmaker() as session:
            return await session.scalar(
                select(Task).where(col(Task.owner_id) == owner_id, col(Task.idempotency_key) == key)
            )
