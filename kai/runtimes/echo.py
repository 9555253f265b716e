"""`echo`: deterministic and dependency-free; for trying kAI out and for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from kai.runtimes.base import AgentHandle, HealthSample, Progress

MAX_STEPS = 10_000


class EchoRuntime:
    name = "echo"
    description = "Answers commands with what it was sent and streams prompts back word by word."
    config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "delaySeconds": {
                "type": "number",
                "minimum": 0,
                "maximum": 60,
                "description": "Pause before each answer and between streamed words.",
            }
        },
        "additionalProperties": False,
    }
    task_types: tuple[str, ...] = ("echo",)
    auto_start = True

    async def start(self, agent: AgentHandle) -> None:
        return None

    async def stop(self, agent: AgentHandle) -> None:
        return None

    async def command(self, agent: AgentHandle, command: str, params: dict[str, Any]) -> Any:
        await self._pause(agent)
        return {"echo": command, "params": params}

    async def prompt(
        self, agent: AgentHandle, prompt: str, options: dict[str, Any] | None
    ) -> AsyncGenerator[str, None]:
        words = prompt.split()
        for index, word in enumerate(words):
            await self._pause(agent)
            yield word if index == len(words) - 1 else word + " "

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any:
        options = payload if isinstance(payload, dict) else {}
        steps = min(max(int(options.get("steps", 1)), 1), MAX_STEPS)
        step_seconds = float(options.get("stepSeconds", 0))
        for step in range(1, steps + 1):
            await asyncio.sleep(step_seconds)
            await progress(step / steps)
        return payload

    async def health(self, agent: AgentHandle) -> HealthSample | None:
        # Runs inside the server: its process usage is not the agent's own.
        return None

    async def _pause(self, agent: AgentHandle) -> None:
        delay = float(agent.configuration.get("delaySeconds", 0) or 0)
        if delay:
            await asyncio.sleep(delay)
