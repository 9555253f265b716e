"""Background tasks as stored rows: enqueue, dispatch, cancel (what a worker does with
one, from claim to finish: kai.services.task_attempts). A task whose type the agent's
approval policy names is made AWAITING_APPROVAL, with its approval (kai.services.approval).

Every state change is a guarded UPDATE (`WHERE state = ...`), so a CANCELLED task
never becomes RUNNING and a finished one never changes, whichever process races.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import Conflict, NotFound, QuotaExceeded, ServiceUnavailable
from kai.events.log import EventLog
from kai.models.agent import Agent, AgentState
from kai.models.approval import ApprovalKind
from kai.models.base import utcnow
from kai.models.task import TERMINAL, Task, TaskState
from kai.services.approval_gate import ApprovalGate
from kai.services.approval_policy import policy_of
from kai.services.dispatch import Dispatcher
from kai.services.pagination import Pager
from kai.services.task_attempts import BACKOFF_BASE_SECONDS, TaskAttempts
from kai.services.task_input import ScheduledRun, check_task_input, task_subject
from kai.services.task_shares import TaskShares, owner_may_run_more, users_task
from kai.services.validation import bounded_text

log = logging.getLogger(__name__)


class TaskService(TaskAttempts):
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: EventLog,
        dispatcher: Dispatcher,
        backoff_base_seconds: float = BACKOFF_BASE_SECONDS,
        pager: Pager,
        shares: TaskShares | None = None,
        gate: ApprovalGate | None = None,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._events = events
        self.dispatcher = dispatcher
        self._backoff_base = backoff_base_seconds
        self._shares = shares or TaskShares()
        self._gate = gate or ApprovalGate()

    @property
    def shares(self) -> TaskShares:
        return self._shares

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
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
        run: ScheduledRun | None = None,
        requested_with_key: str | None = None,
    ) -> Task:
        """Queues the task and, due now, sends its wake-up; `also` writes more in the
        same transaction, first (the request's audit rows: kai.security.audit.Auditor.sharing;
        a schedule's claim of its due time, which aborts the rest when another process won).

        `run`: started by a schedule. At a due time, a refused wake-up leaves the task
        PENDING for the sweep to send (no client waits to hear SERVICE_UNAVAILABLE), and
        an IntegrityError (the due time already has its task) reaches the caller.

        A type the agent's approval policy names, whoever queues it (a schedule too), is
        made AWAITING_APPROVAL with its approval and sends no wake-up; `requested_with_key`,
        the caller's API key, may not decide it.
        """
        check_task_input(agent, task_types, type, priority, delay_seconds, retries, timeout_seconds)
        key = bounded_text(idempotency_key, field="idempotencyKey", max_length=200)
        if key is not None and (earlier := await self._by_key(owner_id, key)) is not None:
            return self._same_agent(earlier, agent)
        task = self._new_row(
            agent, owner_id, key, type, payload, priority, delay_seconds, retries, timeout_seconds
        )
        if run is not None:
            task.schedule_id, task.scheduled_for = run.schedule_id, run.due
        if policy_of(agent).gates_task(type):
            task.state = TaskState.AWAITING_APPROVAL
        try:
            marked = await self._insert(task, agent, also, delay_seconds == 0, requested_with_key)
        except IntegrityError:
            if key is None:
                raise
            earlier = await self._by_key(owner_id, key)
            assert earlier is not None
            return self._same_agent(earlier, agent)
        task.dispatched = marked  # the row as committed (the object has left its session)
        if marked and run is not None and run.due is not None:
            await self._send_or_leave(task.id)
        elif marked:
            await self._send_or_fail(task)
        return task

    async def _insert(
        self,
        task: Task,
        agent: Agent,
        also: Callable[[AsyncSession], Awaitable[None]] | None,
        due_now: bool,
        requested_with_key: str | None,
    ) -> bool:
        """Writes the task and, in the same transaction, its approval (AWAITING_APPROVAL)
        or, due now, the mark of its wake-up; whether that wake-up is to be sent."""
        async with self._events.transaction() as written:
            session = written.session
            if also is not None:
                await also(session)
            await self._within_queue_share(session, task.owner_id)
            session.add(task)
            if task.state is TaskState.AWAITING_APPROVAL:
                await session.flush()
                await self._gate.open(
                    written,
                    agent=agent,
                    kind=ApprovalKind.TASK,
                    subject=task_subject(task),
                    requested_by=task.owner_id,
                    requested_with_key=requested_with_key,
                    field="input.payload",
                    task_id=task.id,
                )
            elif due_now:
                # Marked in the transaction that makes the row (one transaction, not
                # two), and sent only after its commit: a worker never looks for a
                # row that is not there.
                await session.flush()
                return await self._mark_dispatched(session, task.id)
        return False

    def _new_row(
        self,
        agent: Agent,
        owner_id: str,
        key: str | None,
        type: str,
        payload: Any,
        priority: int,
        delay_seconds: float,
        retries: int,
        timeout_seconds: float | None,
    ) -> Task:
        now = utcnow()
        return Task(
            agent_id=agent.id,
            owner_id=owner_id,
            idempotency_key=key,
            type=type,
            payload=payload,
            priority=priority,
            max_retries=retries,
            # No task runs without end (Q2): none given, the default.
            timeout_seconds=timeout_seconds or self._shares.default_timeout_seconds,
            not_before=now + timedelta(seconds=delay_seconds),
            created_at=now,
        )

    async def enqueue_system(
        self,
        *,
        owner_id: str,
        type: str,
        payload: Any,
        retries: int = 3,
        timeout_seconds: float | None = None,
    ) -> Task:
        """Queue the server's own work (a file's indexing), with retries, no agent and out
        of the API's sight. It runs on the slots kept for system work (Q2), which find it
        by themselves; the nudge only saves them waiting for their next look."""
        task = Task(
            agent_id=None,
            owner_id=owner_id,
            type=type,
            payload=payload,
            max_retries=retries,
            timeout_seconds=timeout_seconds or self._shares.system_timeout_seconds,
        )
        async with transaction(self._sessionmaker) as session:
            session.add(task)
        try:
            await self.dispatcher.wake_system()
        except Exception as exc:  # the system slots look again within a sweep's time
            log.warning("could not wake the system task slots for %s: %r", task.id, exc)
        return task

    async def _within_queue_share(self, session: AsyncSession, owner_id: str) -> None:
        """QUOTA_EXCEEDED when the owner already has their share of tasks waiting (Q1)."""
        limit = self._shares.queued_per_user
        waiting = await session.scalar(
            select(func.count()).where(
                col(Task.owner_id) == owner_id,
                col(Task.state) == TaskState.PENDING,
                users_task(),
            )
        )
        if (waiting or 0) >= limit:
            raise QuotaExceeded("tasks waiting to run", quota="queuedTasks", limit=limit)

    async def _send_or_fail(self, task: Task) -> None:
        try:
            await self.dispatcher.dispatch(task.id)
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

    async def _send_or_leave(self, task_id: str) -> None:
        """A wake-up for a task nobody waits on: refused, it is marked unsent for the
        sweep to send again."""
        try:
            await self.dispatcher.dispatch(task_id)
        except Exception as exc:
            log.warning("broker refused task %s; the sweep sends it again: %r", task_id, exc)
            async with transaction(self._sessionmaker) as session:
                await session.execute(
                    update(Task).where(col(Task.id) == task_id).values(dispatched=False)
                )

    async def dispatch(self, task_id: str) -> None:
        """Send a wake-up for a due task, once: `dispatched` flips in the same statement.

        Only while the task's agent is RUNNING: a stopped agent's tasks (a remote
        one with no process attached, say) wait PENDING, unclaimed and without
        events, until it runs again and a sweep dispatches them.
        """
        async with transaction(self._sessionmaker) as session:
            marked = await self._mark_dispatched(session, task_id)
        if not marked:
            return
        try:
            await self.dispatcher.dispatch(task_id)
        except Exception:
            async with transaction(self._sessionmaker) as session:
                await session.execute(
                    update(Task).where(col(Task.id) == task_id).values(dispatched=False)
                )
            raise

    async def _mark_dispatched(self, session: AsyncSession, task_id: str) -> bool:
        """`dispatched` flips from false to true if the task may be sent a wake-up now."""
        marked = await changed_rows(
            session,
            update(Task)
            .where(
                col(Task.id) == task_id,
                col(Task.state) == TaskState.PENDING,
                col(Task.dispatched).is_(False),
                _agent_running(),
                owner_may_run_more(self._shares),
            )
            .values(dispatched=True)
            .execution_options(synchronize_session=False),
        )
        return marked == 1

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
                        _agent_running(),
                        owner_may_run_more(self._shares),
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

    async def cancel(self, *, task_id: str) -> Task:
        """PENDING never starts; RUNNING is interrupted by whichever worker holds it."""
        # A task may move between PENDING and RUNNING (a claim, a retry) between the
        # two guarded statements: try again until one of them holds or it has ended.
        for _ in range(10):
            cancelled = await self.finish(
                task_id=task_id, state=TaskState.CANCELLED, expect=(TaskState.PENDING,)
            )
            if cancelled is not None:
                return cancelled
            async with transaction(self._sessionmaker) as session:
                marked = await changed_rows(
                    session,
                    update(Task)
                    .where(col(Task.id) == task_id, col(Task.state) == TaskState.RUNNING)
                    .values(cancel_requested=True),
                )
            if marked == 1:
                try:
                    await self.dispatcher.cancel(task_id)
                except Exception as exc:  # the worker's heartbeat still finds cancel_requested
                    log.warning("cancel message for task %s not sent: %r", task_id, exc)
                break
            task = await self.get(task_id=task_id)
            if task is None or task.state in TERMINAL:
                break
        task = await self.get(task_id=task_id)
        if task is None:
            raise NotFound("Task")
        return task

    async def cancel_of_agent(self, *, agent_id: str) -> int:
        """Cancels the agent's unfinished tasks: PENDING never start, RUNNING are interrupted."""
        async with self._sessionmaker() as session:
            unfinished = (
                await session.scalars(
                    select(col(Task.id)).where(
                        col(Task.agent_id) == agent_id,
                        col(Task.state).in_([TaskState.PENDING, TaskState.RUNNING]),
                    )
                )
            ).all()
        for task_id in unfinished:
            await self.cancel(task_id=task_id)
        return len(unfinished)

    def _same_agent(self, earlier: Task, agent: Agent) -> Task:
        if earlier.agent_id != agent.id:
            raise Conflict("This idempotencyKey was already used for a task of another agent.")
        return earlier

    async def _by_key(self, owner_id: str, key: str) -> Task | None:
        async with self._sessionmaker() as session:
            return await session.scalar(
                select(Task).where(col(Task.owner_id) == owner_id, col(Task.idempotency_key) == key)
            )


def _agent_running() -> ColumnElement[bool]:
    """The task's agent is RUNNING (the server's own tasks, with no agent, never get a
    wake-up: the system slots find them)."""
    running = select(col(Agent.id)).where(
        col(Agent.id) == col(Task.agent_id), col(Agent.state) == AgentState.RUNNING
    )
    return running.exists()
