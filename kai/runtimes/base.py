"""The one interface every agent type implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Progress = Callable[[float], Awaitable[None]]

# The id of the task a `run_task` call runs (set by the TaskRunner), for runtimes
# that hand the task on under its own name (remote).
current_task_id: ContextVar[str | None] = ContextVar("current_task_id", default=None)


@dataclass(frozen=True, slots=True)
class AgentHandle:
    """What a runtime knows of an agent: a snapshot, never an ORM object."""

    id: str
    owner_id: str
    name: str
    type: str
    configuration: dict[str, Any] = field(default_factory=dict)
    # Its state when the snapshot was taken (an AgentState value), if known.
    state: str | None = None


@dataclass(frozen=True, slots=True)
class HealthSample:
    memory_usage: float | None = None
    cpu_usage: float | None = None


class RuntimeUnavailable(Exception):
    """The agent cannot take work now (not connected, endpoint down)."""


class CommandFailed(Exception):
    """The agent ran the command and it failed; the message goes back to the caller."""


class TaskMustWait(Exception):
    """The agent cannot take the task yet (a remote agent with no process attached):
    the task waits PENDING, the attempt it started not counted."""


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
    ) -> AsyncGenerator[str, None]: ...

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


@runtime_checkable
class ConfiguredTaskTypes(Protocol):
    """A runtime whose task types depend on the agent (remote: its configuration)."""

    def task_types_for(self, agent: AgentHandle) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a thread as a runtime sees it: role `system`, `user`, `assistant`
    or `tool` (OpenAI's names), and its text."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A thread to answer: its messages oldest first, the one to answer last."""

    thread_id: str
    turns: tuple[Turn, ...]

    @property
    def last(self) -> str:
        return self.turns[-1].content if self.turns else ""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens an answer took, as the endpoint reported them (None: not reported)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@runtime_checkable
class Conversational(Protocol):
    """A runtime that answers a whole thread, not only its newest message. It yields
    text deltas, and may yield one Usage (at the end, when the endpoint reports it)."""

    def converse(
        self, agent: AgentHandle, conversation: Conversation, options: dict[str, Any] | None
    ) -> AsyncGenerator[str | Usage, None]: ...


async def converse(
    runtime: Runtime,
    agent: AgentHandle,
    conversation: Conversation,
    options: dict[str, Any] | None,
) -> AsyncGenerator[str | Usage, None]:
    """The runtime's answer to a thread: the whole thread where it takes one, else its
    answer to the newest message alone (a runtime from KAI_RUNTIMES_EXTRA may not)."""
    if isinstance(runtime, Conversational):
        answer = runtime.converse(agent, conversation, options)
    else:
        answer = runtime.prompt(agent, conversation.last, options)
    async with aclosing(answer) as parts:
        async for part in parts:
            yield part


def accepted_task_types(runtime: Runtime, agent: AgentHandle) -> tuple[str, ...]:
    """The task types enqueueTask accepts for `agent`."""
    if isinstance(runtime, ConfiguredTaskTypes):
        return runtime.task_types_for(agent)
    return runtime.task_types
