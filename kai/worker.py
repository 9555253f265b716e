"""`kai worker`: a taskiq receiver that runs background tasks taken from Redis.

Each message wakes `TaskRunner.run_next()`, which claims the best due task.
On SIGTERM (or SIGINT) the worker takes no more messages, lets running tasks
finish for `grace_seconds`, then hands back the rest (PENDING again, the attempt
not counted, dispatched anew) and returns any message it received but never
ran. A second signal hands back at once. A worker killed outright leaves its
tasks to the lease watchdog and its messages to reclaiming.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from kai.config import Settings
from kai.container import open_services
from kai.services.task_counts import count_tasks_forever
from kai.workers.redis_stream_broker import KaiStreamBroker
from kai.workers.runner import TaskRunner
from kai.workers.sweeper import expire_approvals_forever, run_schedules_forever, sweep_forever
from kai.workers.taskiq_dispatch import RUN_NEXT, TaskiqDispatcher
from kai.workers.webhook_sender import sender_for

log = logging.getLogger(__name__)

# After the grace period, handing back is a few statements per task.
HAND_BACK_SECONDS = 15.0


async def run_worker(settings: Settings, *, grace_seconds: float) -> None:
    """Runs until SIGTERM or SIGINT; `settings.task_concurrency` tasks at once."""
    concurrency = settings.task_concurrency
    stop = asyncio.Event()
    now = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (now if stop.is_set() else stop).set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)

    async with open_services(settings) as services:
        dispatcher = services.dispatcher
        if not isinstance(dispatcher, TaskiqDispatcher):
            raise SystemExit("kai: `kai worker` needs KAI_REDIS_URL (tasks on Redis)")
        broker = dispatcher.broker
        runner = TaskRunner.for_services(services)

        async def run_next(task_id: str | None = None) -> bool:
            """One wake-up: claim the best due task (not necessarily `task_id`) and run it."""
            if stop.is_set():
                # Received as the worker stopped: the wake-up goes back for another.
                await dispatcher.dispatch(task_id)
                return False
            return await runner.run_next()

        broker.register_task(run_next, task_name=RUN_NEXT)
        receiver = Receiver(
            broker,
            max_async_tasks=concurrency,
            max_prefetch=0,
            ack_type=AcknowledgeType.WHEN_EXECUTED,
            run_startup=False,
        )
        await runner.start()
        sweeper = asyncio.create_task(
            sweep_forever(
                services.tasks,
                lease_seconds=settings.task_lease_seconds,
                every=settings.task_sweep_seconds,
            )
        )
        ticker = asyncio.create_task(
            run_schedules_forever(services.schedules, every=settings.schedule_tick_seconds)
        )
        expiry = asyncio.create_task(expire_approvals_forever(services))
        sending = asyncio.create_task(sender_for(services).run())
        giving_back = asyncio.create_task(_give_back_after(stop, now, grace_seconds, runner))
        counting = asyncio.create_task(count_tasks_forever(services.tasks))
        log.info("kai worker %s ready: %d tasks at once", runner.worker_id, concurrency)
        try:
            await receiver.listen(stop)
        finally:
            stop.set()
            await _stop(
                runner, broker, background=(sweeper, ticker, expiry, sending, giving_back, counting)
            )


async def _stop(
    runner: TaskRunner, broker: KaiStreamBroker, *, background: Sequence[asyncio.Task[None]]
) -> None:
    """Hands back what is still running, and every message received but never run."""
    runner.give_back()
    try:
        async with asyncio.timeout(HAND_BACK_SECONDS):
            while runner.running:  # noqa: ASYNC110 (hand-backs end with a write)
                await asyncio.sleep(0.05)
            returned = await broker.hand_back_pending()
        if returned:
            log.info("returned %d unprocessed task messages", returned)
    except Exception as exc:  # the lease watchdog and reclaiming recover the rest
        log.warning("could not hand everything back: %r", exc)
    for task in background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await runner.stop()
    log.info("kai worker %s stopped", runner.worker_id)


async def _give_back_after(
    stop: asyncio.Event, now: asyncio.Event, grace_seconds: float, runner: TaskRunner
) -> None:
    await stop.wait()
    log.info("stopping: taking no more tasks; %d running", runner.running)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(now.wait(), grace_seconds)
    if runner.running:
        log.info("handing back %d running tasks", runner.running)
    runner.give_back()
