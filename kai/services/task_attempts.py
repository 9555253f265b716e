"""A task's attempts, as its worker moves it: claim, progress, heartbeat, finish, retry,
hand back.

Every state change is a guarded UPDATE (`WHERE state = ...`), so a CANCELLED task
never becomes RUNNING and a finished one never changes, whichever process races.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import not_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import transaction
from kai.events.log import EventLog, EventTransaction
from kai.models.agent import Agent
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.task import TERMINAL, Task, TaskState
from kai.services.task_queries import TaskQueries
from kai.services.task_shares import TaskShares, owner_may_run_more, system_task, users_task

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
# The PostgreSQL advisory lock that users' task claims take turns on (any fixed number).
CLAIM_LOCK = 7_461_203


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


class TaskAttempts(TaskQueries, ABC):
    """The worker's side of TaskService (which adds enqueueing, dispatch and cancelling)."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _events: EventLog
    _backoff_base: float
    _shares: TaskShares

    @abstractmethod
    async def dispatch(self, task_id: str) -> None:
        """Wakes a worker for the task (TaskService, through its dispatcher)."""

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
        values = {
            "state": state,
            "result": result,
            "error": error,
            "completed_at": utcnow(),
            "progress": 1.0 if state is TaskState.COMPLETED else Task.progress,
        }
        return await self._move(task_id, conditions, values, AgentEventType.TASK_COMPLETE)

    async def _move(
        self,
        task_id: str,
        conditions: Sequence[ColumnElement[bool]],
        values: dict[str, Any],
        event_type: AgentEventType,
    ) -> Task | None:
        """One guarded UPDATE of a task, which returns its new row, and if it matched,
        its event in the same transaction, published after the commit. None when the
        guard did not hold."""
        async with self._events.transaction() as written:
            task = await _updated(written.session, update(Task).where(*conditions).values(values))
            if task is None:
                return None
            await _task_event(written, task, event_type)
        return task

    async def claim(
        self, *, task_id: str | None, worker_id: str, system: bool = False
    ) -> Task | None:
        """Take a due PENDING task (the best one, or `task_id`) and mark it RUNNING: a
        user's task whose owner runs fewer than their share, or with `system` one of the
        server's own tasks. None means no due task is left that another claimer is not
        taking already."""
        claimed = await self.claim_to_run(task_id=task_id, worker_id=worker_id, system=system)
        return claimed[0] if claimed is not None else None

    async def claim_to_run(
        self, *, worker_id: str, system: bool = False, task_id: str | None = None
    ) -> tuple[Task, Agent | None] | None:
        """`claim`, and the claimed task's agent (None for the server's own tasks, or
        when it was deleted), read in the claim's transaction: a worker then needs no
        session of its own to find what runs the task.

        One statement picks and takes the row, skipping rows other claimers hold
        (PostgreSQL; SQLite has one writer at a time), and returns it: concurrent
        workers each get a different task instead of racing for the same one.
        """
        now = utcnow()
        if system and not await self._system_task_due(now):
            return None
        best = _best_due(now, system=system, task_id=task_id, shares=self._shares)
        async with self._events.transaction() as written:
            session = written.session
            if not system and session.get_bind().dialect.name == "postgresql":
                # Claims of users' tasks take turns: two concurrent claims could each count
                # the owner's running tasks before the other committed, and both take one
                # past the share. SQLite has one writer at a time already.
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK}
                )
            task = await _updated(session, _taking(best, worker_id, now))
            if task is None:
                if not system:
                    await _take_back_a_wakeup(session, now, self._shares)
                return None
            await _task_event(written, task, AgentEventType.TASK_PROGRESS)
            # The event's seq took the agent row's lock: it cannot go before the commit.
            agent = await session.get(Agent, task.agent_id) if task.agent_id else None
        return task, agent

    async def _system_task_due(self, now: Any) -> bool:
        """The system slots look every second: a read first, so that looking when nothing
        is due takes no write transaction (nor, on SQLite, the write turn)."""
        async with self._sessionmaker() as session:
            waiting = select(col(Task.id)).where(
                col(Task.state) == TaskState.PENDING, col(Task.not_before) <= now, system_task()
            )
            return await session.scalar(waiting.limit(1)) is not None

    async def progress(self, *, task_id: str, worker_id: str, progress: float) -> bool:
        """Record progress (0..1); False when the task is no longer this worker's to run."""
        progress = min(max(float(progress), 0.0), 1.0)
        moved = await self._move(
            task_id,
            [
                col(Task.id) == task_id,
                col(Task.state) == TaskState.RUNNING,
                col(Task.worker_id) == worker_id,
            ],
            {"progress": progress, "heartbeat_at": utcnow()},
            AgentEventType.TASK_PROGRESS,
        )
        return moved is not None

    async def heartbeat(self, *, task_ids: Sequence[str], worker_id: str) -> set[str]:
        """Refresh the lease of running tasks; returns those to stop: their cancel was
        asked for, or they are no longer this worker's (the watchdog gave them away)."""
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
                    col(Task.id).in_(task_ids),
                    or_(
                        col(Task.cancel_requested).is_(True),
                        col(Task.state) != TaskState.RUNNING,
                        col(Task.worker_id) != worker_id,
                    ),
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
        conditions = [
            col(Task.id) == task.id,
            col(Task.state) == TaskState.RUNNING,
            # A cancel asked for during the attempt wins: the task must not run again.
            col(Task.cancel_requested).is_(False),
        ]
        if worker_id is not None:
            conditions.append(col(Task.worker_id) == worker_id)
        values = {
            "state": TaskState.PENDING,
            "error": error,
            "worker_id": None,
            "dispatched": False,
            "not_before": utcnow() + timedelta(seconds=delay),
        }
        retried = await self._move(task.id, conditions, values, AgentEventType.TASK_PROGRESS)
        if retried is None:
            # No longer this worker's RUNNING task (then this moves nothing either),
            # or its cancel was asked for: then it ends CANCELLED.
            return await self.finish(
                task_id=task.id,
                state=TaskState.CANCELLED,
                expect=(TaskState.RUNNING,),
                worker_id=worker_id,
            )
        return retried

    async def hand_back(
        self, *, task_id: str, worker_id: str, delay_seconds: float = 0.0
    ) -> Task | None:
        """A worker returns a RUNNING task: PENDING again (at once, or after `delay_seconds`,
        when the sweep dispatches it), and the attempt it started does not count. One
        whose cancel was asked for ends CANCELLED."""
        returned = await self._move(
            task_id,
            [
                col(Task.id) == task_id,
                col(Task.state) == TaskState.RUNNING,
                col(Task.worker_id) == worker_id,
                col(Task.cancel_requested).is_(False),
            ],
            {
                "state": TaskState.PENDING,
                "worker_id": None,
                "dispatched": False,
                "attempts": col(Task.attempts) - 1,
                "not_before": utcnow() + timedelta(seconds=delay_seconds),
            },
            AgentEventType.TASK_PROGRESS,
        )
        if returned is None:
            return await self.finish(
                task_id=task_id,
                state=TaskState.CANCELLED,
                expect=(TaskState.RUNNING,),
                worker_id=worker_id,
            )
        if delay_seconds > 0:
            return returned  # the sweep dispatches it when due
        try:
            await self.dispatch(task_id)
        except Exception as exc:  # the sweep dispatches it once the broker is back
            log.warning("could not dispatch handed-back task %s: %r", task_id, exc)
        return returned


def _best_due(now: Any, *, system: bool, task_id: str | None, shares: TaskShares) -> Any:
    """The best due task a claim may take (FOR UPDATE SKIP LOCKED): a system task, or a
    user's with a wake-up out whose owner runs fewer than their share."""
    due = [col(Task.state) == TaskState.PENDING, col(Task.not_before) <= now]
    if system:
        best = select(col(Task.id)).where(*due, system_task())
    else:
        # Only tasks with a wake-up out: a wake-up then always finds work for
        # the task it was sent for, or for a better one that has its own.
        best = select(col(Task.id)).where(
            *due, col(Task.dispatched).is_(True), users_task(), owner_may_run_more(shares)
        )
    if task_id is not None:
        best = best.where(col(Task.id) == task_id)
    return (
        best.order_by(col(Task.priority).desc(), col(Task.created_at))
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _taking(best: Any, worker_id: str, now: Any) -> Any:
    """The claim's UPDATE: the best due task (`best`, a locking subquery) becomes this
    worker's RUNNING attempt, if it is still PENDING."""
    return (
        update(Task)
        .where(col(Task.id) == best.scalar_subquery(), col(Task.state) == TaskState.PENDING)
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


async def _updated(session: AsyncSession, statement: Any) -> Task | None:
    """Runs a guarded UPDATE of one task and returns the row as it now is (RETURNING:
    no second statement reads it back); None when the guard did not hold."""
    returning = statement.returning(Task).execution_options(
        populate_existing=True, synchronize_session=False
    )
    return (await session.scalars(returning)).one_or_none()


async def _take_back_a_wakeup(session: AsyncSession, now: Any, shares: TaskShares) -> None:
    """A wake-up that found only tasks of owners at their share was used up: one of
    those tasks no longer has one, and says so (`dispatched` false), so that the sweep
    sends it a new one once its owner has room, rather than wake-ups circling meanwhile."""
    waiting = (
        select(col(Task.id))
        .where(
            col(Task.state) == TaskState.PENDING,
            col(Task.dispatched).is_(True),
            col(Task.not_before) <= now,
            users_task(),
            not_(owner_may_run_more(shares)),
        )
        .order_by(col(Task.priority).desc(), col(Task.created_at))
        .limit(1)
    )
    await session.execute(
        update(Task)
        .where(col(Task.id) == waiting.scalar_subquery(), col(Task.state) == TaskState.PENDING)
        .values(dispatched=False)
    )


async def _task_event(written: EventTransaction, task: Task, event_type: AgentEventType) -> None:
    """The agent event of a task's change; the server's own tasks have no agent to tell."""
    if task.agent_id is not None:
        await written.append(agent_id=task.agent_id, type=event_type, data=task_event_data(task))
