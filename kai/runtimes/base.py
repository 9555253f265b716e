"""The one interface every agent type implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Progress = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AgentHandle:
    """What a runtime knows of an agent: a snapshot, never an ORM object."""

    id: str
    owner_id: str
    name: str
    type: str
    configuration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthSample:
    memory_usage: float | None = None
    cpu_usage: float | None = None


class RuntimeUnavailable(Exception):
    """The agent cannot take work now (not connected, endpoint down)."""


class CommandFailed(Exception):
    """The agent ran the command and it failed; the message goes back to the caller."""


class Runtime(Protocol):
    name: str
    description: str
    config_schema: dict[str, Any]
    task_types: tuple[str, ...]
    # Whether createAgent/restartAgent start it, or it waits for a process to attach.
    auto_start: bool

    async def start(self, agent: AgentHandle) -> None: ...

    async def stop(self, agent: AgentHandle) -> None: ...

    async def command(self, agent: AgentHandle, command: str, params: dict[str, Any]) -> Any: ...

    def prompt(
        self, agent: AgentHandle, prompt: str, options: dict[str, Any] | None
    ) -> AsyncIterator[str]: ...

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any: ...

    async def health(self, agent: AgentHandle) -> HealthSample | None: ...


@runtime_checkable
class Reattachable(Protocol):
    """A runtime whose agents are started by their own process (auto_start False).

    restartAgent cannot start such an agent: it asks the process to re-attach.
    """

    async def request_restart(self, agent: AgentHandle) -> None: ...
