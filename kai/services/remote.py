"""The server's side of remote agents: their processes' inboxes, answers, heartbeats.

- Attaching (`agentInbox`): one process per agent. The STOPPED (or ERROR)
  agent moves STARTING -> RUNNING, remembering which inbox holds it
  (Agent.inbox_id); a second process meets a RUNNING agent and gets CONFLICT.
  The inbox ends (the socket closed, STOP, RESTART, the heartbeat sweep) and
  the agent goes STOPPED, unless something else already moved it.
- Delivery: each COMMAND, PROMPT or TASK the inbox hands to its process is
  recorded (RemoteMessage), so an answer arriving on any replica can be checked
  against the agent it belongs to; the final answer removes it. A TASK message
  is named after its task, and answered by task id (agentTaskProgress).
- Heartbeats: a process silent past the heartbeat timeout turns its agent
  ERROR, and its inbox is closed so that the process, if it ever wakes, attaches
  again. `sweep` runs periodically in every replica; transitions that race
  resolve in the database.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import BadUserInput, Conflict, NotFound, ServiceUnavailable
from kai.events.hub import EventHub, Interrupted, Overflow
from kai.models.agent import Agent, AgentState
from kai.models.base import new_id, utcnow
from kai.models.remote import RemoteMessage
from kai.models.task import Task, TaskState
from kai.runtimes.remote import (
    ANSWERED_KINDS,
    FINAL_KINDS,
    InboxKind,
    close_inbox,
    inbox_channel,
    reply_channel,
)
from kai.services.agent import AgentService

log = logging.getLogger(__name__)

REMOTE_TYPE = "remote"
# A pending message this old lost its requester long ago (a replica died): drop it.
ORPHAN_AGE = timedelta(hours=24)
MAX_ERROR = 10_000
MAX_DELTA = 100_000
ATTACHED = (AgentState.STARTING, AgentState.RUNNING)
NO_USAGE = {"memory_usage": None, "cpu_usage": None}


def require_remote(agent: Agent, *, field: str = "agentId") -> None:
    if agent.type != REMOTE_TYPE:
        raise BadUserInput(
            f"Only a remote agent has a process; this one is {agent.type!r}.", field=field
        )


def _fraction(value: float | None, *, field: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise BadUserInput("A fraction from 0 to 1.", field=field)
    return float(value)


class RemoteService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        hub: EventHub,
        agents: AgentService,
        heartbeat_timeout: float,
    ):
        self._sessionmaker = sessionmaker
        self._hub = hub
        self._agents = agents
        self._heartbeat_timeout = heartbeat_timeout

    # -- the inbox -------------------------------------------------------------

    async def inbox(self, *, agent: Agent) -> AsyncGenerator[dict[str, Any], None]:
        """The messages for `agent`'s process, as hub dicts {id, kind, payload, timestamp}."""
        require_remote(agent)
        inbox_id = new_id("inb")
        # Listen before the agent shows RUNNING: nothing sent to it after that is missed.
        async with self._hub.subscribe(inbox_channel(agent.id)) as messages:
            try:
                await self._claim(agent.id, inbox_id)
                while True:
                    try:
                        message = await messages.get()
                    except Interrupted:
                        # Messages may be lost; their senders saw no `delivered` and fail fast.
                        continue
                    except Overflow:
                        log.warning("inbox of agent %s fell behind; closing it", agent.id)
                        return
                    if "control" in message:
                        if message.get("inbox_id") == inbox_id:
                            reason = message.get("reason")
                            log.info("inbox of agent %s closed: %s", agent.id, reason)
                            return
                        continue
                    kind = message.get("kind")
                    if kind in ANSWERED_KINDS and not await self._deliver(
                        agent.id, inbox_id, message
                    ):
                        return
                    yield message
                    if kind in FINAL_KINDS:
                        return
            finally:
                # Shielded: a cancelled subscription still releases the agent.
                await asyncio.shield(self._release(agent.id, inbox_id))

    async def _claim(self, agent_id: str, inbox_id: str) -> None:
        agent = await self._agents.get(agent_id=agent_id)
        if agent is None:
            raise NotFound("Agent")
        if agent.state in ATTACHED:
            if not self._silent(agent):
                raise Conflict("Another process is attached to this agent.")
            # Its process (or the replica holding it) died without a word: take over.
            await self.expire(agent)
        try:
            await self._agents.transition(
                agent_id=agent_id,
                to=AgentState.STARTING,
                reason="process attached",
                values={"inbox_id": inbox_id, "last_seen": utcnow()},
            )
            await self._agents.transition(
                agent_id=agent_id,
                to=AgentState.RUNNING,
                reason="process attached",
                expect={"inbox_id": inbox_id},
            )
        except Conflict:
            raise Conflict("Another process is attached to this agent.") from None

    async def _deliver(self, agent_id: str, inbox_id: str, message: dict[str, Any]) -> bool:
        """Record `message` as pending, tell its sender it was taken; False if the agent is gone."""
        try:
            async with transaction(self._sessionmaker) as session:
                if message["kind"] == InboxKind.TASK:
                    # Named after its task: an earlier attempt's message makes way.
                    await session.execute(
                        delete(RemoteMessage).where(col(RemoteMessage.id) == str(message["id"]))
                    )
                session.add(
                    RemoteMessage(
                        id=str(message["id"]),
                        agent_id=agent_id,
                        inbox_id=inbox_id,
                        kind=str(message["kind"]),
                    )
                )
        except Exception as exc:  # the agent was deleted (foreign key), or the database is down
            log.warning("inbox of agent %s could not take a message: %r", agent_id, exc)
            return False
        await self._hub.publish(reply_channel(str(message["id"])), {"kind": "delivered"})
        return True

    async def _release(self, agent_id: str, inbox_id: str) -> None:
        try:
            async with transaction(self._sessionmaker) as session:
                unanswered = (
                    await session.scalars(
                        select(col(RemoteMessage.id)).where(col(RemoteMessage.inbox_id) == inbox_id)
                    )
                ).all()
                await session.execute(
                    delete(RemoteMessage).where(col(RemoteMessage.inbox_id) == inbox_id)
                )
            for message_id in unanswered:
                await self._hub.publish(reply_channel(message_id), {"kind": "gone"})
            agent = await self._agents.get(agent_id=agent_id)
            if agent is None or agent.inbox_id != inbox_id or agent.state not in ATTACHED:
                # Deleted, stopped, or turned ERROR by the sweep: that state stands.
                return
            await self._agents.transition(
                agent_id=agent_id,
                to=AgentState.STOPPED,
                reason="process detached",
                expect={"inbox_id": inbox_id},
                values={"inbox_id": None, **NO_USAGE},
            )
        except (Conflict, NotFound):
            return
        except Exception as exc:  # housekeeping of a closing socket: log, never raise
            log.warning("could not release the inbox of agent %s: %r", agent_id, exc)

    # -- answers from the process ----------------------------------------------

    async def pending(self, *, message_id: str) -> RemoteMessage | None:
        async with self._sessionmaker() as session:
            return await session.get(RemoteMessage, message_id)

    async def reply(self, *, message: RemoteMessage, result: Any, error: str | None) -> None:
        """The answer to a COMMAND, or the failure of a PROMPT."""
        if error is not None and len(error) > MAX_ERROR:
            raise BadUserInput(f"At most {MAX_ERROR} characters.", field="error")
        if message.kind == InboxKind.TASK:
            raise BadUserInput(
                "A TASK is answered with agentTaskProgress(taskId).", field="messageId"
            )
        if message.kind == InboxKind.PROMPT and error is None:
            raise BadUserInput(
                "A PROMPT is answered with agentStreamChunk; agentReply only reports its error.",
                field="error",
            )
        await self._consume(message)
        await self._publish(message, {"kind": "reply", "result": result, "error": error})

    async def chunk(self, *, message: RemoteMessage, delta: str, done: bool) -> None:
        """Part of the answer to a PROMPT; `done` ends it."""
        if message.kind != InboxKind.PROMPT:
            raise BadUserInput(
                "Only a PROMPT is answered in chunks; answer a COMMAND with agentReply.",
                field="messageId",
            )
        if len(delta) > MAX_DELTA:
            raise BadUserInput(f"At most {MAX_DELTA} characters.", field="delta")
        if done:
            await self._consume(message)
        await self._publish(message, {"kind": "chunk", "delta": delta, "done": done})

    async def task_progress(
        self,
        *,
        task: Task,
        agent: Agent,
        progress: float,
        result: Any,
        error: str | None,
    ) -> None:
        """A remote task's progress; with a result, an error or progress 1, its end.

        Published on the task's reply channel, where the worker running it
        (on whatever replica) records it.
        """
        require_remote(agent, field="taskId")
        value = _fraction(progress, field="progress")
        assert value is not None
        if error is not None and len(error) > MAX_ERROR:
            raise BadUserInput(f"At most {MAX_ERROR} characters.", field="error")
        if task.state != TaskState.RUNNING:
            raise Conflict(f"The task is {task.state.value}, not RUNNING.")
        if error is None and result is None and value < 1.0:
            answer: dict[str, Any] = {"kind": "progress", "progress": value}
        else:
            async with transaction(self._sessionmaker) as session:
                await session.execute(delete(RemoteMessage).where(col(RemoteMessage.id) == task.id))
            answer = {"kind": "done", "progress": value, "result": result, "error": error}
        if not await self._hub.publish(reply_channel(task.id), answer):
            raise ServiceUnavailable("The message broker is unreachable; the answer was lost.")

    async def _consume(self, message: RemoteMessage) -> None:
        """Takes the message off the pending list; of two final answers, the second is NOT_FOUND."""
        async with transaction(self._sessionmaker) as session:
            removed = await changed_rows(
                session, delete(RemoteMessage).where(col(RemoteMessage.id) == message.id)
            )
        if removed != 1:
            raise NotFound("Message")

    async def _publish(self, message: RemoteMessage, answer: dict[str, Any]) -> None:
        if not await self._hub.publish(reply_channel(message.id), answer):
            raise ServiceUnavailable("The message broker is unreachable; the answer was lost.")

    # -- heartbeats ------------------------------------------------------------

    async def heartbeat(
        self, *, agent: Agent, memory_usage: float | None, cpu_usage: float | None
    ) -> Agent:
        require_remote(agent)
        values = {
            "last_seen": utcnow(),
            "memory_usage": _fraction(memory_usage, field="memoryUsage"),
            "cpu_usage": _fraction(cpu_usage, field="cpuUsage"),
        }
        async with transaction(self._sessionmaker) as session:
            await session.execute(update(Agent).where(col(Agent.id) == agent.id).values(values))
            updated = await session.get(Agent, agent.id, populate_existing=True)
        if updated is None:
            raise NotFound("Agent")
        return updated

    def _silent(self, agent: Agent) -> bool:
        cutoff = utcnow() - timedelta(seconds=self._heartbeat_timeout)
        return agent.last_seen is None or agent.last_seen < cutoff

    async def expire(self, agent: Agent) -> bool:
        """A silent process: its agent goes ERROR and its inbox is closed, wherever it is held."""
        try:
            await self._agents.transition(
                agent_id=agent.id,
                to=AgentState.ERROR,
                reason="heartbeat timeout",
                error=f"No heartbeat for {self._heartbeat_timeout:g} s.",
                expect={"inbox_id": agent.inbox_id},
                values=NO_USAGE,
            )
        except (Conflict, NotFound):
            return False
        if agent.inbox_id is not None:
            await self._hub.publish(
                inbox_channel(agent.id), close_inbox(agent.inbox_id, "heartbeat timeout")
            )
        return True

    async def sweep(self) -> int:
        """Turns silent attached agents ERROR and drops orphaned pending messages."""
        cutoff = utcnow() - timedelta(seconds=self._heartbeat_timeout)
        async with self._sessionmaker() as session:
            silent: Sequence[Agent] = (
                await session.scalars(
                    select(Agent).where(
                        col(Agent.type) == REMOTE_TYPE,
                        col(Agent.state).in_(ATTACHED),
                        or_(col(Agent.last_seen).is_(None), col(Agent.last_seen) < cutoff),
                    )
                )
            ).all()
        expired = 0
        for agent in silent:
            if await self.expire(agent):
                log.warning("remote agent %s sent no heartbeat in time: ERROR", agent.id)
                expired += 1
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                delete(RemoteMessage).where(col(RemoteMessage.created_at) < utcnow() - ORPHAN_AGE)
            )
        return expired
