"""Runs claimed tasks: handler, progress, timeout, retries, cancellation, heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from kai.events.hub import EventHub, Interrupted
from kai.models.task import Task, TaskState
from kai.runtimes import RuntimeRegistry
from kai.runtimes.base import CommandFailed, RuntimeUnavailable, TaskMustWait, current_task_id
from kai.services.agent import AgentService, handle
from kai.services.task import TaskService
from kai.workers.dispatch import CANCEL_CHANNEL

log = logging.getLogger(__name__)

TIMEOUT_ERROR = "timeout"
# How soon a task that must wait (its remote agent has no process) is tried again.
WAIT_RETRY_SECONDS = 1.0


ProgressReporter = Callable[[float], Awaitable[None]]
# The server's own work, by task type: (payload, report progress) -> result.
SystemTask = Callable[[Any, ProgressReporter], Coroutine[Any, Any, Any]]


async def _fail(reason: str) -> None:
    raise CommandFailed(reason)


class _Cancelled(Exception):
    """The task's cancellation was asked for while it ran."""


class TaskRunner:
    def __init__(
        self,
        *,
        tasks: TaskService,
        agents: AgentService,
        runtimes: RuntimeRegistry,
        hub: EventHub,
        heartbeat_seconds: float = 1.0,
        worker_id: str | None = None,
        system_tasks: Mapping[str, SystemTask] | None = None,
    ):
        self._tasks = tasks
        self._agents = agents
        self._runtimes = runtimes
        self._hub = hub
        self._heartbeat_seconds = heartbeat_seconds
        self._system_tasks = dict(system_tasks or {})
        self.worker_id = worker_id or f"wrk_{uuid.uuid4().hex[:16]}"
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: set[str] = set()
        self._giving_back = False
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        ready = asyncio.Event()
        self._background = [
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self._listen_for_cancels(ready)),
        ]
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> int:
        return len(self._running)

    def give_back(self) -> None:
        """For a stopping worker: claim nothing more, and hand running tasks back
        (PENDING again, the attempt not counted) instead of finishing them."""
        self._giving_back = True
        for job in list(self._running.values()):
            job.cancel()

    async def run_next(self) -> bool:
        """Claim the best due task and run it to an end; False when there was none."""
        if self._giving_back:
            return False
        task = await self._tasks.claim(task_id=None, worker_id=self.worker_id)
        if task is None:
            return False
        await self.execute(task)
        return True

    async def execute(self, task: Task) -> None:
        async def report(value: float) -> None:
            if not await self._tasks.progress(
                task_id=task.id, worker_id=self.worker_id, progress=value
            ):
                raise _Cancelled()

        work = await self._work(task, report)
        if work is None:
            return  # its agent was deleted, and the task with it
        token = current_task_id.set(task.id)
        try:
            job = asyncio.create_task(asyncio.wait_for(work, task.timeout_seconds))
        finally:
            current_task_id.reset(token)
        self._running[task.id] = job
        if self._giving_back:  # claimed while give_back() ran
            job.cancel()
        try:
            result = await job
        except TimeoutError:
            await self._tasks.retry_or_fail(
                task=task, error=TIMEOUT_ERROR, worker_id=self.worker_id
            )
        except (asyncio.CancelledError, _Cancelled):
            if task.id not in self._cancelled and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise  # this runner itself is being stopped: the watchdog retries the task
            if self._giving_back and task.id not in self._cancelled:
                await self._tasks.hand_back(task_id=task.id, worker_id=self.worker_id)
                return
            await self._tasks.finish(
                task_id=task.id,
                state=TaskState.CANCELLED,
                expect=(TaskState.RUNNING,),
                worker_id=self.worker_id,
            )
        except TaskMustWait:
            # Not an attempt: PENDING again soon, for the sweep to dispatch when due.
            await self._tasks.hand_back(
                task_id=task.id, worker_id=self.worker_id, delay_seconds=WAIT_RETRY_SECONDS
            )
        except (CommandFailed, RuntimeUnavailable) as exc:
            await self._tasks.retry_or_fail(
                task=task, error=str(exc) or type(exc).__name__, worker_id=self.worker_id
            )
        except Exception as exc:
            log.exception("task %s (%s) raised", task.id, task.type)
            await self._tasks.retry_or_fail(
                task=task, error=f"handler failed: {type(exc).__name__}", worker_id=self.worker_id
            )
        else:
            await self._tasks.finish(
                task_id=task.id,
                state=TaskState.COMPLETED,
                expect=(TaskState.RUNNING,),
                result=result,
                worker_id=self.worker_id,
            )
        finally:
            self._running.pop(task.id, None)
            self._cancelled.discard(task.id)

    async def _work(self, task: Task, report: ProgressReporter) -> Coroutine[Any, Any, Any] | None:
        """What runs the task: its agent's runtime, or for the server's own tasks (no
        agent) the system handler of its type."""
        if task.agent_id is None:
            handler = self._system_tasks.get(task.type)
            if handler is None:
                return _fail(f"no handler for system task type {task.type!r}")
            return handler(task.payload, report)
        agent = await self._agents.get(agent_id=task.agent_id)
        if agent is None:
            return None
        runtime = self._runtimes.get(agent.type)
        return runtime.run_task(handle(agent), task.type, task.payload, report)

    def _interrupt(self, task_id: str) -> None:
        job = self._running.get(task_id)
        if job is not None and not job.done():
            self._cancelled.add(task_id)
            job.cancel()

    async def _listen_for_cancels(self, ready: asyncio.Event) -> None:
        async with self._hub.subscribe(CANCEL_CHANNEL) as cancels:
            ready.set()
            while True:
                try:
                    message = await cancels.get()
                except Interrupted:
                    continue  # the heartbeat's check of cancel_requested covers the gap
                self._interrupt(str(message.get("taskId")))

    async def _heartbeats(self) -> None:
        """Keep the lease of running tasks, catch cancels the hub did not deliver, and
        stop running what the watchdog gave to another worker meanwhile."""
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            try:
                asked = await self._tasks.heartbeat(
                    task_ids=list(self._running), worker_id=self.worker_id
                )
            except Exception as exc:  # the database blinked: the lease has some slack
                log.warning("task heartbeat failed: %r", exc)
                continue
            for task_id in asked:
                self._interrupt(task_id)
