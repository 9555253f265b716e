"""A schedule's settings as a client gives them (all of them to create, some to change),
checked field by field, and when such a schedule first runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kai.errors import BadUserInput
from kai.models.agent import Agent
from kai.models.schedule import Schedule
from kai.services.schedule_times import check_cron, next_cron_run, zone
from kai.services.task_input import check_task_input
from kai.services.validation import bounded_text

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    """What each run queues: enqueueTask's input without a delay (a run starts when due)."""

    type: str
    payload: Any = None
    priority: int = 0
    retries: int = 0
    timeout_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """createSchedule's input, or updateSchedule's (None: unchanged)."""

    name: str | None = None
    cron: str | None = None
    timezone: str | None = None
    run_at: datetime | None = None
    task: TaskTemplate | None = None
    active: bool | None = None

    def over(self, schedule: Schedule) -> SchedulePlan:
        """These changes applied to `schedule`: a cron makes it a cron schedule, a runAt a
        one-off (both at once are refused by `plan`)."""
        switching_to_cron = self.cron is not None and self.run_at is None
        switching_to_once = self.run_at is not None and self.cron is None
        return SchedulePlan(
            name=self.name if self.name is not None else schedule.name,
            cron=self.cron if self.cron is not None or switching_to_once else schedule.cron,
            timezone=self.timezone if self.timezone is not None else schedule.timezone,
            run_at=self.run_at if self.run_at is not None or switching_to_cron else schedule.run_at,
            task=self.task
            if self.task is not None
            else TaskTemplate(
                type=schedule.task_type,
                payload=schedule.task_payload,
                priority=schedule.task_priority,
                retries=schedule.task_retries,
                timeout_seconds=schedule.task_timeout_seconds,
            ),
            active=self.active if self.active is not None else schedule.active,
        )


@dataclass(frozen=True, slots=True)
class CheckedPlan:
    plan: SchedulePlan

    def columns(self) -> dict[str, Any]:
        plan = self.plan
        assert plan.task is not None
        return {
            "name": plan.name,
            "cron": plan.cron,
            "timezone": plan.timezone,
            "run_at": plan.run_at,
            "task_type": plan.task.type,
            "task_payload": plan.task.payload,
            "task_priority": plan.task.priority,
            "task_retries": plan.task.retries,
            "task_timeout_seconds": plan.task.timeout_seconds,
            "active": plan.active,
        }


def plan(
    given: SchedulePlan, *, agent: Agent, task_types: tuple[str, ...], min_interval: timedelta
) -> CheckedPlan:
    """BAD_USER_INPUT naming the field for anything that does not hold."""
    name = bounded_text(given.name, field="input.name", max_length=MAX_NAME, required=True)
    tz = zone(given.timezone or "UTC", field="input.timezone")
    if (given.cron is None) == (given.run_at is None):
        raise BadUserInput(
            "Give either cron (a timetable) or runAt (one time), not both or neither.",
            field="input.cron",
        )
    cron = (
        None
        if given.cron is None
        else check_cron(given.cron, tz, min_interval=min_interval, field="input.cron")
    )
    if given.run_at is not None and given.run_at.tzinfo is None:
        raise BadUserInput("runAt needs a time zone offset.", field="input.runAt")
    task = given.task
    assert task is not None
    check_task_input(
        agent,
        task_types,
        task.type,
        task.priority,
        0.0,
        task.retries,
        task.timeout_seconds,
        field="input.task",
    )
    run_at = given.run_at.astimezone(UTC) if given.run_at is not None else None
    return CheckedPlan(replace(given, name=name, cron=cron, timezone=tz.key, run_at=run_at))


def first_run(schedule: Schedule, *, now: datetime) -> datetime | None:
    """When a schedule as stored is next due, looking from `now`: none while paused;
    a cron schedule's next time after now (runs missed while paused are not made up); a
    one-off's time unless it has run (then none)."""
    if not schedule.active:
        return None
    if schedule.cron is not None:
        return next_cron_run(schedule.cron, zone(schedule.timezone, field="timezone"), after=now)
    run_at = schedule.run_at
    assert run_at is not None
    if schedule.last_run_at is not None and schedule.last_run_at >= run_at:
        return None
    return run_at
