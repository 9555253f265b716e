"""Runs claimed tasks: handler, progress, timeout, retries, cancellation, heartbeats.

Progress reports are coalesced (kai.workers.progress): at most one stored event per
task in each KAI_TASK_PROGRESS_INTERVAL_SECONDS, the last value always delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.aio import stop_tasks
from kai.db import database_unavailable, lending
from kai.events.hub import EventHub, Interrupted
from kai.models.agent import Agent
from kai.models.task import Task, TaskState
from kai.runtimes import RuntimeRegistry
from kai.runtimes.base import CommandFailed, RuntimeUnavailable, TaskMustWait, current_task_id
from kai.services.agent import AgentService, handle
from kai.services.dispatch import (
    CANCEL_CHANNEL,
    SYSTEM_TASKS_CHANNEL,
    ProgressReporter,
    SystemTask,
)
from kai.services.shared import Services
from kai.services.task import TaskService
from kai.workers.outcome import OutcomeWrites, outlasting_outages, settled
from kai.workers.progress import CoalescedProgress

log = logging.getLogger(__name__)

TIMEOUT_ERROR = "timeout"
HANDLER_FAILED = "handler failed (the server's log has the details, under the task id)"
# How soon a task that must wait (its remote agent has no process) is tried again.
WAIT_RETRY_SECONDS = 1.0
# A claimed task's writes share the claim's connection for this long at most (kai.db.
# lending): a task done by then costs one pool checkout, and one that runs longer does not
# keep a connection from the pool.
LEND_SECONDS = 1.0


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
        system_slots: int = 1,
        system_look_seconds: float = 1.0,
        progress_interval_seconds: float = 0.0,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ):
        self._tasks = tasks
        self._outcome = OutcomeWrites(tasks)
        self._agents = agents
        self._runtimes = runtimes
        self._hub = hub
        self._heartbeat_seconds = heartbeat_seconds
        self._system_tasks = dict(system_tasks or {})
        self._system_slots = system_slots
        self._system_look_seconds = system_look_seconds
        self._progress_interval = progress_interval_seconds
        self._sessionmaker = sessionmaker
        self.worker_id = worker_id or f"wrk_{uuid.uuid4().hex[:16]}"
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: set[str] = set()
        self._giving_back = False
        self._background: list[asyncio.Task[None]] = []

    @classmethod
    def for_services(cls, services: Services) -> TaskRunner:
        """The runner of a server's in-process workers, or of a `kai worker`."""
        return cls(
            tasks=services.tasks,
            agents=services.agents,
            runtimes=services.agents.runtimes,
            hub=services.hub,
            heartbeat_seconds=services.settings.task_heartbeat_seconds,
            system_tasks=services.system_tasks,
            system_slots=services.settings.task_system_concurrency,
            system_look_seconds=services.settings.task_sweep_seconds,
            progress_interval_seconds=services.settings.task_progress_interval_seconds,
            sessionmaker=services.sessionmaker,
        )

    async def start(self) -> None:
        ready = asyncio.Event()
        system_ready = asyncio.Event()
        self._background = [
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self._listen_for_cancels(ready)),
            asyncio.create_task(self._system_slots_loop(system_ready)),
        ]
        await asyncio.wait_for(asyncio.gather(ready.wait(), system_ready.wait()), timeout=10)

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

    async def run_next(self, *, system: bool = False) -> bool:
        """Claim the best due task (a user's, or with `system` one of the server's own)
        and run it to an end; False when there was none."""
        if self._giving_back:
            return False
        async with self._lending():
            claimed = await self._tasks.claim_to_run(worker_id=self.worker_id, system=system)
            if claimed is None:
                return False
            await self.execute(*claimed)
        return True

    def _lending(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The claim and the outcome of a task done within LEND_SECONDS share one
        connection (one pool checkout and pre-ping, not two)."""
        if self._sessionmaker is None:
            return contextlib.nullcontext()
        return lending(self._sessionmaker, for_seconds=LEND_SECONDS)

    async def _system_slots_loop(self, ready: asyncio.Event) -> None:
        """The slots kept for the server's own tasks (Q2): each runs system tasks while
        any is due, then waits for a nudge (SYSTEM_TASKS_CHANNEL) or its next look."""
        nudged = asyncio.Event()

        async def slot() -> None:
            while True:
                try:
                    while await self.run_next(system=True):
                        pass
                except Exception as exc:  # the database blinked: look again later
                    log.warning("system task slot: %r", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudged.wait(), self._system_look_seconds)
                nudged.clear()

        async with self._hub.subscribe(SYSTEM_TASKS_CHANNEL) as nudges:
            ready.set()
            slots = [asyncio.create_task(slot()) for _ in range(self._system_slots)]
            try:
                while True:
                    try:
                        await nudges.get()
                    except Interrupted:
                        pass  # the hub reconnected: a nudge may be lost, so look now
                    except Exception as exc:  # no nudges: the slots still look by themselves
                        log.warning("system task nudges unavailable: %r", exc)
                        await asyncio.sleep(self._system_look_seconds)
                    nudged.set()
            finally:
                await stop_tasks(slots, within=10)

    def _reporter(self, task: Task) -> tuple[ProgressReporter, CoalescedProgress]:
        """How the task's handler reports progress (raising _Cancelled once the task was
        cancelled), and the coalescing behind it."""

        async def store(value: float) -> bool:
            return await self._tasks.progress(
                task_id=task.id, worker_id=self.worker_id, progress=value
            )

        coalesced = CoalescedProgress(
            store, interval=self._progress_interval, lost=lambda: self._interrupt(task.id)
        )

        async def report(value: float) -> None:
            try:
                moved = await coalesced.report(value)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                # A progress report is not worth the run: the database is away (restarting),
                # the handler goes on, and a cancel is still caught by the heartbeat.
                log.warning("task %s: progress not recorded, database unavailable", task.id)
                return
            if not moved:
                raise _Cancelled()

        return report, coalesced

    async def execute(self, task: Task, agent: Agent | None = None) -> None:
        """Runs a claimed task to its outcome; `agent`, its agent as the claim read it
        (None: read here)."""
        report, progress = self._reporter(task)
        work = await outlasting_outages(task.id, lambda: self._work(task, report, agent))
        if work is None:
            return  # its agent was deleted, and the task with it
        job = self._start(task, work)
        try:
            result = await settled(job, progress)
        except TimeoutError:
            await self._outcome.retry_or_fail(
                task=task, error=TIMEOUT_ERROR, worker_id=self.worker_id
            )
        except (asyncio.CancelledError, _Cancelled):
            if task.id not in self._cancelled and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise  # this runner itself is being stopped: the watchdog retries the task
            if self._giving_back and task.id not in self._cancelled:
                await self._outcome.hand_back(task_id=task.id, worker_id=self.worker_id)
                return
            await self._outcome.finish(
                task_id=task.id,
                state=TaskState.CANCELLED,
                expect=(TaskState.RUNNING,),
                worker_id=self.worker_id,
            )
        except TaskMustWait:
            # Not an attempt: PENDING again soon, for the sweep to dispatch when due.
            await self._outcome.hand_back(
                task_id=task.id, worker_id=self.worker_id, delay_seconds=WAIT_RETRY_SECONDS
            )
        except (CommandFailed, RuntimeUnavailable) as exc:
            await self._outcome.retry_or_fail(
                task=task, error=str(exc) or type(exc).__name__, worker_id=self.worker_id
            )
        except Exception:
            # The exception's text and class stay in the log: a message of Python's
            # (a path, a value, a library's name) is not the task owner's to read.
            log.exception("task %s (%s) raised", task.id, task.type)
            await self._outcome.retry_or_fail(
                task=task, error=HANDLER_FAILED, worker_id=self.worker_id
            )
        else:
            await self._outcome.finish(
                task_id=task.id,
                state=TaskState.COMPLETED,
                expect=(TaskState.RUNNING,),
                result=result,
                worker_id=self.worker_id,
            )
        finally:
            self._running.pop(task.id, None)
            self._cancelled.discard(task.id)
            if inspect.getcoroutinestate(work) == inspect.CORO_CREATED:
                work.close()  # cancelled before its first step: it never ran, say so quietly

    def _start(self, task: Task, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """`work` as this runner's job for `task`, within the task's timeout."""
        token = current_task_id.set(task.id)
        try:
            timeout = self._tasks.shares.timeout_of(task)  # never none (Q2)
            job = asyncio.create_task(asyncio.wait_for(work, timeout))
        finally:
            current_task_id.reset(token)
        self._running[task.id] = job
        if self._giving_back:  # claimed while give_back() ran
            job.cancel()
        return job

    async def _work(
        self, task: Task, report: ProgressReporter, agent: Agent | None
    ) -> Coroutine[Any, Any, Any] | None:
        """What runs the task: its agent's runtime, or for the server's own tasks (no
        agent) the system handler of its type."""
        if task.agent_id is None:
            handler = self._system_tasks.get(task.type)
            if handler is None:
                return _fail(f"no handler for system task type {task.type!r}")
            return handler(task.payload, report)
        if agent is None:
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
