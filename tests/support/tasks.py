"""Background tasks as the tests drive them: settings with one brisk worker, enqueueing
over /graphql, and waiting for a task's row to reach a state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from kai.config import Settings
from kai.models.task import Task as TaskRow
from kai.models.task import TaskState
from kai.services.shared import Services
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import make_settings

T = TypeVar("T")

TASK_FIELDS = """
  id type state payload progress result error attempts priority createdAt startedAt completedAt
  agent { id }
"""
ENQUEUE = f"""
mutation Enqueue($agentId: ID!, $input: TaskInput!, $key: String) {{
  enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $key) {{ {TASK_FIELDS} }}
}}
"""
WAIT = 10.0
# A task that runs for a long time unless stopped: 200 steps of 50 ms.
LONG = {"steps": 200, "stepSeconds": 0.05}
BACKOFF = 0.2


def task_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """One in-process worker (so ordering is observable), a brisk sweeper, short backoff,
    and every progress report stored (so each step is seen; tests/test_task_progress.py
    tests the coalescing of the default)."""
    values: dict[str, Any] = {
        "task_concurrency": 1,
        "task_sweep_seconds": 0.05,
        "task_heartbeat_seconds": 0.2,
        "task_backoff_seconds": BACKOFF,
        "task_progress_interval_seconds": 0.0,
    }
    return make_settings(database_url, data_dir, **(values | overrides))


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = WAIT) -> T:  # noqa: ASYNC109
    """The first truthy answer of `probe`, polled; fails the test after `timeout`."""
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.02)


async def row_when(
    services: Services,
    task_id: str,
    check: Callable[[TaskRow], bool],
    timeout: float = WAIT,  # noqa: ASYNC109
) -> TaskRow:
    async def probe() -> TaskRow | None:
        row = await services.tasks.get(task_id=task_id)
        assert row is not None
        return row if check(row) else None

    return await eventually(probe, timeout)


async def row_in(
    services: Services,
    task_id: str,
    *states: TaskState,
    timeout: float = WAIT,  # noqa: ASYNC109
) -> TaskRow:
    return await row_when(services, task_id, lambda row: row.state in states, timeout)


async def enqueue(
    client: GraphQLClient, token: str, agent_id: str, key: str | None = None, **input: Any
) -> dict[str, Any]:
    input.setdefault("type", "echo")
    variables = {"agentId": agent_id, "input": input, "key": key}
    return (await client.execute(ENQUEUE, variables, token=token)).ok()["enqueueTask"]  # type: ignore[no-any-return]
