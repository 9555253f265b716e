"""Schedules: stored timetables that queue a task from their template at each due time.

Exactly once per due time, on any number of replicas and workers: every process ticks
(`run_due`), and a due run is claimed by moving the schedule's `next_run_at` on with an
UPDATE guarded by the value it read, in the transaction that inserts the run's task.
Two processes that read the same due time both try; the database lets one UPDATE match
and the other finds the row already moved (PostgreSQL re-reads the row after waiting
for the first one's lock; SQLite has one writer at a time), rolls back, and queues
nothing. A unique (schedule, due time) on the task is the second lock on that door.

Runs missed while no process was running are not made up one by one: the first tick
back starts the oldest due one, late, and the next due time is found from now.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import BadUserInput, QuotaExceeded
from kai.events.log import EventLog
from kai.models.agent import Agent
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.schedule import Schedule
from kai.models.task import Task, TaskState
from kai.observability.metrics import SCHEDULE_CLAIMS_LOST, SCHEDULE_RUNS
from kai.runtimes.base import accepted_task_types
from kai.security.principal import Principal
from kai.services.agent import AgentService, handle
from kai.services.pagination import Page, Pager, Sorting, ordering
from kai.services.schedule_plan import SchedulePlan, TaskTemplate, first_run, plan
from kai.services.schedule_times import following_run, zone
from kai.services.task import TaskService
from kai.services.task_attempts import task_event_data
from kai.services.task_input import ScheduledRun
from kai.services.task_queries import TASK_ORDER_KEYS

log = logging.getLogger(__name__)

Also = Callable[[AsyncSession], Awaitable[None]]
# Due schedules one tick looks at; the rest wait for the next tick (a second later).
TICK_BATCH = 200

SCHEDULE_ORDER = ordering(
    "schedules", {"CREATED_AT": (col(Schedule.created_at), "datetime")}, col(Schedule.id), Sorting()
)
SCHEDULE_TASKS_ORDER = ordering("schedule.tasks", TASK_ORDER_KEYS, col(Task.id), Sorting())


class _Taken(Exception):
    """Another process claimed this due time first."""


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    min_interval: timedelta
    per_user: int


class ScheduleService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        pager: Pager,
        agents: AgentService,
        tasks: TaskService,
        events: EventLog,
        limits: ScheduleLimits,
        clock: Callable[[], datetime],
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._agents = agents
        self._tasks = tasks
        self._events = events
        self._limits = limits
        self.clock = clock

    def task_types(self, agent: Agent) -> tuple[str, ...]:
        return accepted_task_types(self._agents.runtimes.get(agent.type), handle(agent))

    async def get(self, *, schedule_id: str) -> Schedule | None:
        async with self._sessionmaker() as session:
            return await session.get(Schedule, schedule_id, populate_existing=True)

    async def create(
        self,
        *,
        agent: Agent,
        owner_id: str,
        name: str,
        cron: str | None,
        timezone: str,
        run_at: datetime | None,
        task: TaskTemplate,
        active: bool,
        also: Also | None = None,
    ) -> Schedule:
        """BAD_USER_INPUT naming the field for a timetable or template that does not hold,
        QUOTA_EXCEEDED past the owner's cap."""
        checked = plan(
            SchedulePlan(name, cron, timezone, run_at, task, active),
            agent=agent,
            task_types=self.task_types(agent),
            min_interval=self._limits.min_interval,
        )
        schedule = Schedule(agent_id=agent.id, owner_id=owner_id, **checked.columns())
        schedule.next_run_at = first_run(schedule, now=self.clock())
        async with transaction(self._sessionmaker) as session:
            if also is not None:
                await also(session)
            mine = await session.scalar(
                select(func.count()).where(col(Schedule.owner_id) == owner_id)
            )
            if (mine or 0) >= self._limits.per_user:
                raise QuotaExceeded("schedules", quota="schedules", limit=self._limits.per_user)
            session.add(schedule)
        return schedule

    async def update(
        self, *, schedule: Schedule, agent: Agent, changes: SchedulePlan, also: Also | None = None
    ) -> Schedule:
        """The schedule with `changes` (None fields unchanged; a cron makes it a cron
        schedule, a runAt a one-off), its next run found again from now."""
        checked = plan(
            changes.over(schedule),
            agent=agent,
            task_types=self.task_types(agent),
            min_interval=self._limits.min_interval,
        )
        values = checked.columns()
        if changes.run_at is not None or changes.cron is not None:
            # A new timetable: whatever ran under the old one does not count against it.
            values["last_run_at"] = None if changes.run_at is not None else schedule.last_run_at
        candidate = Schedule(**{**schedule.model_dump(), **values})
        values["next_run_at"] = first_run(candidate, now=self.clock())
        async with transaction(self._sessionmaker) as session:
            if also is not None:
                await also(session)
            await session.execute(
                update(Schedule).where(col(Schedule.id) == schedule.id).values(values)
            )
        updated = await self.get(schedule_id=schedule.id)
        assert updated is not None
        return updated

    async def delete(self, *, schedule_id: str, also: Also | None = None) -> bool:
        """Gone, with its timetable; the tasks it started keep running (their schedule
        becomes null)."""
        async with transaction(self._sessionmaker) as session:
            if also is not None:
                await also(session)
            removed = await changed_rows(
                session, delete(Schedule).where(col(Schedule.id) == schedule_id)
            )
        return removed == 1

    async def page(
        self, *, principal: Principal, agent_id: str | None, first: int | None, after: str | None
    ) -> Page[Schedule]:
        """The schedules of the caller's agents (ADMIN: every agent's; an API key limited to
        some agents: theirs), newest first."""
        filters: list[ColumnElement[bool]] = []
        if not principal.is_admin:
            owned = select(col(Agent.id)).where(col(Agent.owner_id) == principal.user_id)
            filters.append(col(Schedule.agent_id).in_(owned))
        if principal.agent_ids is not None:
            filters.append(col(Schedule.agent_id).in_(sorted(principal.agent_ids)))
        if agent_id is not None:
            filters.append(col(Schedule.agent_id) == agent_id)
        return await self._pager.fetch(
            self._sessionmaker, Schedule, filters, SCHEDULE_ORDER, first=first, after=after
        )

    async def tasks(self, *, schedule_id: str, first: int | None, after: str | None) -> Page[Task]:
        """The tasks it started, newest first."""
        return await self._pager.fetch(
            self._sessionmaker,
            Task,
            [col(Task.schedule_id) == schedule_id],
            SCHEDULE_TASKS_ORDER,
            first=first,
            after=after,
        )

    async def run_now(self, *, schedule: Schedule, agent: Agent, also: Also | None = None) -> Task:
        """Queues the schedule's task at once, outside its timetable (which is unchanged)."""

        async def started(session: AsyncSession) -> None:
            if also is not None:
                await also(session)
            await session.execute(
                update(Schedule)
                .where(col(Schedule.id) == schedule.id)
                .values(last_run_at=self.clock())
            )

        return await self._queue(schedule, agent, ScheduledRun(schedule.id, None), started)

    async def run_due(self) -> int:
        """One tick: starts every schedule due by now (that no other process started
        first); how many this process started."""
        now = self.clock()
        async with self._sessionmaker() as session:
            due = (
                await session.scalars(
                    select(Schedule)
                    .where(col(Schedule.next_run_at) <= now)
                    .order_by(col(Schedule.next_run_at))
                    .limit(TICK_BATCH)
                )
            ).all()
        due = list(due)
        # In its own order in each process: replicas that read the same due schedules at
        # once mostly claim different ones instead of queueing behind one another's locks.
        random.shuffle(due)
        started = 0
        for schedule in due:
            try:
                started += await self._start_due(schedule, now)
            except Exception:
                # One schedule that cannot start (its agent type is no longer installed,
                # say) must not hold back the rest of the tick; it is logged every tick.
                log.exception("schedule %s could not start its due run", schedule.id)
        return started

    async def _start_due(self, schedule: Schedule, now: datetime) -> int:
        due = schedule.next_run_at
        assert due is not None
        agent = await self._agents.get(agent_id=schedule.agent_id)
        if agent is None:  # deleted since the tick read it, and the schedule with it
            return 0
        following = following_run(
            cron=schedule.cron,
            tz=zone(schedule.timezone, field="timezone"),
            due=due,
            now=now,
            min_interval=self._limits.min_interval,
        )

        async def claim(session: AsyncSession) -> None:
            moved = await changed_rows(
                session,
                update(Schedule)
                .where(col(Schedule.id) == schedule.id, col(Schedule.next_run_at) == due)
                .values(next_run_at=following, last_run_at=due),
            )
            if moved != 1:
                raise _Taken

        run = ScheduledRun(schedule.id, due)
        try:
            try:
                await self._queue(schedule, agent, run, claim)
                SCHEDULE_RUNS.labels("started").inc()
            except (BadUserInput, QuotaExceeded) as exc:
                await self._record_refused(schedule, run, f"not queued: {exc.message}", claim)
                SCHEDULE_RUNS.labels("refused").inc()
        except _Taken:
            SCHEDULE_CLAIMS_LOST.labels("moved").inc()
            return 0
        except IntegrityError:
            SCHEDULE_CLAIMS_LOST.labels("duplicate").inc()
            return 0
        return 1

    async def _record_refused(
        self, schedule: Schedule, run: ScheduledRun, error: str, also: Also
    ) -> Task:
        """A run that could not be queued (its owner's share of waiting tasks was full, its
        agent no longer takes the task type): a FAILED task saying why, with its event, so
        the run is in the schedule's history rather than lost."""
        now = utcnow()
        task = Task(
            agent_id=schedule.agent_id,
            owner_id=schedule.owner_id,
            type=schedule.task_type,
            payload=schedule.task_payload,
            state=TaskState.FAILED,
            error=error,
            schedule_id=run.schedule_id,
            scheduled_for=run.due,
            created_at=now,
            not_before=now,
            completed_at=now,
        )
        async with self._events.transaction() as written:
            await also(written.session)
            written.session.add(task)
            await written.session.flush()
            await written.append(
                agent_id=schedule.agent_id,
                type=AgentEventType.TASK_COMPLETE,
                data=task_event_data(task),
            )
        return task

    async def _queue(self, schedule: Schedule, agent: Agent, run: ScheduledRun, also: Also) -> Task:
        return await self._tasks.enqueue(
            agent=agent,
            owner_id=schedule.owner_id,
            task_types=self.task_types(agent),
            type=schedule.task_type,
            payload=schedule.task_payload,
            priority=schedule.task_priority,
            delay_seconds=0.0,
            retries=schedule.task_retries,
            timeout_seconds=schedule.task_timeout_seconds,
            idempotency_key=None,
            also=also,
            run=run,
        )
