"""The small asyncio helpers that the database and the streams rely on."""

from __future__ import annotations

import asyncio

import pytest

from kai.aio import completed


async def test_completed_work_runs_to_its_end_although_its_caller_is_cancelled() -> None:
    steps: list[str] = []
    release = asyncio.Event()

    async def commit() -> str:
        steps.append("started")
        await release.wait()
        steps.append("finished")
        return "committed"

    caller = asyncio.create_task(completed(commit()))
    await asyncio.sleep(0)
    caller.cancel()
    await asyncio.sleep(0)
    caller.cancel()  # a second cancellation does not cut the work either
    await asyncio.sleep(0)
    assert not caller.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert steps == ["started", "finished"]


async def test_completed_returns_the_work_s_result_and_raises_its_error() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ValueError("broken")

    assert await completed(answer()) == 42
    with pytest.raises(ValueError, match="broken"):
        await completed(fail())
