"""What a task is given, checked: enqueueTask's input, and a schedule's task template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kai.errors import BadUserInput
from kai.models.agent import Agent
from kai.models.task import Task
from kai.services.agent_config import redact

MAX_RETRIES = 20
MAX_DELAY_SECONDS = 7 * 24 * 3600
MAX_TIMEOUT_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """A schedule's run: the schedule, and the due time it is for (None: started by hand)."""

    schedule_id: str
    due: datetime | None


def check_task_input(
    agent: Agent,
    task_types: Sequence[str],
    type: str,
    priority: int,
    delay_seconds: float,
    retries: int,
    timeout_seconds: float | None,
    *,
    field: str = "input",
) -> None:
    """BAD_USER_INPUT, naming the field (under `field`: `input.task` for a schedule's
    template), for what enqueueTask (or a schedule's task template) does not take."""
    if type not in task_types:
        known = ", ".join(task_types) or "none"
        raise BadUserInput(
            f"This {agent.type} agent takes no {type!r} tasks (it takes: {known}).",
            field=f"{field}.type",
        )
    if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
        raise BadUserInput("delaySeconds must be 0 to 7 days.", field=f"{field}.delaySeconds")
    if not 0 <= retries <= MAX_RETRIES:
        raise BadUserInput(f"retries must be 0 to {MAX_RETRIES}.", field=f"{field}.retries")
    if timeout_seconds is not None and not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise BadUserInput(
            "timeoutSeconds must be above 0, at most a day.", field=f"{field}.timeoutSeconds"
        )
    if not -1000 <= priority <= 1000:
        raise BadUserInput("priority must be -1000 to 1000.", field=f"{field}.priority")


def task_subject(task: Task) -> dict[str, Any]:
    """What a person is asked to approve of a task: what it would run, and how (values
    under secret-looking keys hidden; the task keeps them)."""
    return {
        "type": task.type,
        "payload": redact(task.payload),
        "priority": task.priority,
        "retries": task.max_retries,
        "timeoutSeconds": task.timeout_seconds,
    }
