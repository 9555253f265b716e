"""An agent type for tests whose tasks leave traces another process can count.

Loaded into `kai serve` and `kai worker` processes with
KAI_RUNTIMES_EXTRA=tests.support.task_runtime:CountingRuntime. A `count` task appends
`start <mark> <pid>` to the file named by TASK_LOG when it starts and
`done <mark> <pid>` when it completes, and sleeps `seconds` in `steps` between.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kai.runtimes.base import AgentHandle, HealthSample, Progress

LOG_ENV = "TASK_LOG"


def traces(path: Path) -> list[tuple[str, str, int]]:
    """(what, mark, pid) per line: what is "start" or "done"."""
    if not path.exists():
        return []
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(what, mark, int(pid)) for what, mark, pid in lines]


class CountingRuntime:
    name = "counter"
    description = "Test agent: its tasks write a line to a file as they start and complete."
    config_schema: dict[str, Any] = {"type": "object"}
    task_types: tuple[str, ...] = ("count",)
    auto_start = True

    async def start(self, agent: AgentHandle) -> None:
        return None

    async def stop(self, agent: AgentHandle) -> None:
        return None

    async def command(self, agent: AgentHandle, command: str, params: dict[str, Any]) -> Any:
        return {"command": command}

    async def prompt(
        self, agent: AgentHandle, prompt: str, options: dict[str, Any] | None
    ) -> AsyncIterator[str]:
        yield prompt

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any:
        options = payload if isinstance(payload, dict) else {}
        mark = str(options.get("mark", "-"))
        steps = max(int(options.get("steps", 1)), 1)
        seconds = float(options.get("seconds", 0))
        self._trace("start", mark)
        for step in range(1, steps + 1):
            await asyncio.sleep(seconds / steps)
            await progress(step / steps)
        self._trace("done", mark)
        return {"mark": mark, "pid": os.getpid()}

    async def health(self, agent: AgentHandle) -> HealthSample | None:
        return None

    def _trace(self, what: str, mark: str) -> None:
        # One short O_APPEND write per line: lines from several processes never mix.
        fd = os.open(os.environ[LOG_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{what} {mark} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
