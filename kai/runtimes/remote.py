"""`remote`: the agent is a process elsewhere that holds the `agentInbox` subscription.

Work travels through the EventHub, so the process may hold its inbox on any
replica and the request may arrive at another:

1. the requester subscribes to `reply:<message id>`, then publishes the
   InboxMessage on `inbox:<agent id>`;
2. the replica holding the inbox records it as pending (kai.models.remote),
   answers `delivered` on the reply channel and forwards it to the process;
3. agentReply / agentStreamChunk, on whatever replica they land, publish the
   answer (`reply`, `chunk`) on the reply channel;
4. when the inbox closes, it publishes `gone` for what it delivered and nobody
   answered.

No `delivered` in time means no process took the message, and `gone` that the
process went away: both are RuntimeUnavailable. The caller bounds a command's
wait; a prompt fails when its process stays silent for `idle_timeout`.

A background task goes as a TASK message whose id is the task's id: the process
answers it with agentTaskProgress(taskId), which publishes `progress` and, at
the end, `done` (a result or an error) on `reply:<task id>`. The task's own
timeout bounds the wait. With no process attached the task waits PENDING
(TaskMustWait), its attempt not counted, until one attaches.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kai.events.hub import EventHub, Interrupted, Overflow, Subscription
from kai.models.base import new_id, utcnow
from kai.runtimes.base import (
    AgentHandle,
    CommandFailed,
    Conversation,
    HealthSample,
    Progress,
    RuntimeUnavailable,
    TaskMustWait,
    current_task_id,
)

# How long an inbox may take to pick a message up before "no process attached".
DELIVERY_TIMEOUT = 5.0


class InboxKind(enum.StrEnum):
    COMMAND = "COMMAND"
    PROMPT = "PROMPT"
    TASK = "TASK"
    RESTART = "RESTART"
    STOP = "STOP"


# Kinds whose answer someone waits for: the inbox records them as pending.
ANSWERED_KINDS = frozenset({InboxKind.COMMAND, InboxKind.PROMPT, InboxKind.TASK})
# Kinds after which the inbox ends: the process is asked to re-attach, or to exit.
FINAL_KINDS = frozenset({InboxKind.RESTART, InboxKind.STOP})


def inbox_channel(agent_id: str) -> str:
    return f"inbox:{agent_id}"


def reply_channel(message_id: str) -> str:
    return f"reply:{message_id}"


def inbox_message(
    kind: InboxKind, payload: dict[str, Any], *, message_id: str | None = None
) -> dict[str, Any]:
    """An InboxMessage as it travels on the hub: {id, kind, payload, timestamp}."""
    return {
        "id": message_id or new_id("msg"),
        "kind": kind.value,
        "payload": payload,
        "timestamp": utcnow().isoformat(),
    }


def close_inbox(inbox_id: str, reason: str) -> dict[str, Any]:
    """Ends the inbox `inbox_id` wherever it is held; never reaches a process."""
    return {"control": "close", "inbox_id": inbox_id, "reason": reason}


class NotDelivered(RuntimeUnavailable):
    """No inbox took the message in time: no process is attached."""


class _Exchange:
    """The answers to one message, as the reply channel brings them."""

    def __init__(self, replies: Subscription, delivery_timeout: float):
        self._replies = replies
        self._delivery_timeout = delivery_timeout
        self._delivered = False

    async def next(self, idle_timeout: float | None) -> dict[str, Any]:
        while True:
            timeout = idle_timeout if self._delivered else self._delivery_timeout
            try:
                async with asyncio.timeout(timeout):
                    message = await self._replies.get()
            except TimeoutError:
                if not self._delivered:
                    raise NotDelivered(
                        "No agent process took the message: none is attached."
                    ) from None
                raise CommandFailed(f"The agent process sent nothing for {timeout:g} s.") from None
            except Interrupted:
                # The broker reconnected: an answer may be lost. Keep waiting; the
                # delivery timeout or the caller's bound ends the wait if it was.
                continue
            except Overflow:
                raise CommandFailed("The answer came faster than it could be taken.") from None
            kind = message.get("kind")
            if kind == "gone":
                raise RuntimeUnavailable("The agent process went away before it answered.")
            self._delivered = True
            if kind != "delivered":
                return message


class RemoteRuntime:
    name = "remote"
    description = (
        "A process of yours, anywhere, attached with kai_sdk.RemoteAgent (`kai agent run`): "
        "it receives commands, prompts and tasks through agentInbox and answers them."
    )
    config_schema: dict[str, Any] = {
        "type": "object",
        "description": (
            "Settings for your process; kAI interprets only taskTypes, the task types "
            "enqueueTask accepts for this agent (its process handles them with @agent.task)."
        ),
        "properties": {
            "taskTypes": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 100},
                "uniqueItems": True,
                "maxItems": 100,
            }
        },
    }
    # Per agent: its configuration's taskTypes (task_types_for).
    task_types: tuple[str, ...] = ()
    # STOPPED until its process attaches (agentInbox).
    auto_start = False

    def __init__(
        self, hub: EventHub, *, idle_timeout: float, delivery_timeout: float = DELIVERY_TIMEOUT
    ):
        self._hub = hub
        self._idle_timeout = idle_timeout
        self._delivery_timeout = delivery_timeout

    async def start(self, agent: AgentHandle) -> None:
        # Its process starts it, by attaching.
        return None

    async def stop(self, agent: AgentHandle) -> None:
        """Asks the attached process, if any, to stop (it exits)."""
        await self._hub.publish(inbox_channel(agent.id), inbox_message(InboxKind.STOP, {}))

    async def request_restart(self, agent: AgentHandle) -> None:
        """Asks the attached process, if any, to re-attach."""
        await self._hub.publish(inbox_channel(agent.id), inbox_message(InboxKind.RESTART, {}))

    async def command(self, agent: AgentHandle, command: str, params: dict[str, Any]) -> Any:
        payload = {"command": command, "params": params}
        async with self._exchange(agent, InboxKind.COMMAND, payload) as exchange:
            while True:
                answer = await exchange.next(None)
                if answer.get("kind") != "reply":
                    continue
                if answer.get("error") is not None:
                    raise CommandFailed(str(answer["error"]))
                return answer.get("result")

    def prompt(
        self, agent: AgentHandle, prompt: str, options: dict[str, Any] | None
    ) -> AsyncGenerator[str, None]:
        return self._answer(agent, {"prompt": prompt, "options": options})

    def converse(
        self, agent: AgentHandle, conversation: Conversation, options: dict[str, Any] | None
    ) -> AsyncGenerator[str, None]:
        """A PROMPT whose payload also holds the thread: its id and its messages (trimmed
        to the history budget, oldest first, the one to answer last); the SDK hands them
        to the handler."""
        messages = [{"role": turn.role, "content": turn.content} for turn in conversation.turns]
        payload = {
            "prompt": conversation.last,
            "options": options,
            "threadId": conversation.thread_id,
            "messages": messages,
        }
        return self._answer(agent, payload)

    async def _answer(
        self, agent: AgentHandle, payload: dict[str, Any]
    ) -> AsyncGenerator[str, None]:
        async with self._exchange(agent, InboxKind.PROMPT, payload) as exchange:
            while True:
                answer = await exchange.next(self._idle_timeout)
                kind = answer.get("kind")
                if kind == "chunk":
                    delta = answer.get("delta")
                    if isinstance(delta, str) and delta:
                        yield delta
                    if answer.get("done"):
                        return
                elif kind == "reply":
                    raise CommandFailed(str(answer.get("error") or "the agent did not answer"))

    def task_types_for(self, agent: AgentHandle) -> tuple[str, ...]:
        types = agent.configuration.get("taskTypes")
        if not isinstance(types, list):
            return ()
        return tuple(str(t) for t in types if isinstance(t, str))

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any:
        task_id = current_task_id.get()
        if task_id is None:
            raise RuntimeUnavailable("A remote task is run by the task runner.")
        if agent.state is not None and agent.state != "RUNNING":
            raise TaskMustWait("No process is attached to the agent.")
        body = {"taskId": task_id, "type": task_type, "payload": payload}
        try:
            async with self._exchange(agent, InboxKind.TASK, body, message_id=task_id) as exchange:
                while True:
                    answer = await exchange.next(None)
                    kind = answer.get("kind")
                    if kind == "progress":
                        await progress(float(answer.get("progress") or 0.0))
                    elif kind == "done":
                        if answer.get("error") is not None:
                            raise CommandFailed(str(answer["error"]))
                        return answer.get("result")
        except NotDelivered:
            # Detached since the agent was read: wait for the next process.
            raise TaskMustWait("No process took the task.") from None

    async def health(self, agent: AgentHandle) -> HealthSample | None:
        # Measured by the process itself and stored from its heartbeats.
        return None

    @asynccontextmanager
    async def _exchange(
        self,
        agent: AgentHandle,
        kind: InboxKind,
        payload: dict[str, Any],
        *,
        message_id: str | None = None,
    ) -> AsyncIterator[_Exchange]:
        message = inbox_message(kind, payload, message_id=message_id)
        # Listen first, so that no answer can come before anyone waits for it.
        async with self._hub.subscribe(reply_channel(message["id"])) as replies:
            if not await self._hub.publish(inbox_channel(agent.id), message):
                raise RuntimeUnavailable("The message broker is unreachable.")
            yield _Exchange(replies, self._delivery_timeout)
