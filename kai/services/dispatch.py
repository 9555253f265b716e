"""What the task service needs from a queue: wake a worker, interrupt a task.

The implementations are in kai.workers (in-process, taskiq on Redis); the services
only know this interface, so they never import the workers that run them.

A wake-up names no task: the worker that gets it claims the best due task
(highest priority, then oldest), so priorities hold however the broker orders
its messages. Cancellation goes to every process over the event hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

CANCEL_CHANNEL = "tasks:cancel"
# "A system task is due": the slots kept for the server's own tasks look at once.
SYSTEM_TASKS_CHANNEL = "tasks:system"


class Dispatcher(Protocol):
    async def dispatch(self, task_id: str) -> None:
        """Wake one worker for `task_id` (or a better one); raise when the broker refuses."""
        ...

    async def cancel(self, task_id: str) -> None:
        """Interrupt `task_id` in whichever worker runs it."""
        ...

    async def wake_system(self) -> None:
        """Tell every process's system task slots that one of the server's tasks is due."""
        ...


@runtime_checkable
class LossyDispatcher(Protocol):
    """A broker that may lose wake-ups (Redis restarting without its data, trimming)."""

    async def resend_lost(self, waiting: Callable[[], Awaitable[tuple[int, int]]]) -> int:
        """Send again what was lost; `waiting` counts (PENDING with one out, RUNNING)."""
        ...


ProgressReporter = Callable[[float], Awaitable[None]]
# The server's own work, by task type: (payload, report progress) -> result.
SystemTask = Callable[[Any, ProgressReporter], Coroutine[Any, Any, Any]]
