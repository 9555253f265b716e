"""Commands and prompts sent to agents: timed, recorded, idempotent, echoed as events.

A command the agent's approval policy names waits for a person: sendCommand records it
with a PENDING approval and answers at once (success false); it runs when approved, on
the deciding process (`run_approved`), and its COMMAND_RESULT event carries the
approval's id (kai.services.approval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import AgentUnavailable, BadUserInput, ErrorCode, KaiError
from kai.events.log import EventLog
from kai.models.agent import Agent, AgentState
from kai.models.agent_event import AgentEventType
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.models.base import new_id, utcnow
from kai.models.command import CommandRecord
from kai.runtimes import RuntimeRegistry
from kai.runtimes.base import CommandFailed, RuntimeUnavailable
from kai.services.agent import handle
from kai.services.agent_config import redact
from kai.services.approval_gate import ApprovalGate
from kai.services.approval_policy import policy_of
from kai.services.prompt_events import StreamRecorder
from kai.services.validation import bounded_text

log = logging.getLogger(__name__)

IDEMPOTENCY_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Chunk:
    stream_id: str
    index: int
    delta: str
    done: bool
    # On the last chunk of a thread's answer: it was cut short, and stored as far as it got.
    interrupted: bool = False


def require_running(agent: Agent) -> None:
    if agent.state is not AgentState.RUNNING:
        raise AgentUnavailable(f"The agent is {agent.state.value}, not RUNNING.")


def command_result_data(record: CommandRecord, *, approval_id: str | None) -> dict[str, Any]:
    """A COMMAND_RESULT event's data; a command that waited for approval names it."""
    data = {
        "commandId": record.id,
        "command": record.command,
        "success": record.success,
        "result": record.result,
        "error": record.error,
        "durationMs": record.duration_ms,
    }
    return data if approval_id is None else {**data, "approvalId": approval_id}


class CommandService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtimes: RuntimeRegistry,
        events: EventLog,
        timeout_seconds: float,
        gate: ApprovalGate | None = None,
    ):
        self._sessionmaker = sessionmaker
        self._runtimes = runtimes
        self._events = events
        self._timeout = timeout_seconds
        self._gate = gate or ApprovalGate()

    @property
    def timeout_seconds(self) -> float:
        return self._timeout

    async def send(
        self,
        *,
        agent: Agent,
        user_id: str,
        command: str,
        params: Any,
        idempotency_key: str | None,
        requested_with_key: str | None = None,
    ) -> CommandRecord:
        """The command's outcome; one the agent's approval policy names is answered at once,
        its record without outcome and a PENDING approval naming it (`requested_with_key`,
        the caller's API key, may not decide it)."""
        name = bounded_text(command, field="command.command", max_length=200, required=True)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise BadUserInput("params must be a JSON object.", field="command.params")
        key = bounded_text(idempotency_key, field="idempotencyKey", max_length=200)
        if key is not None:
            earlier = await self._find(user_id=user_id, key=key)
            if earlier is not None:
                return await self._outcome_of(earlier)
        require_running(agent)
        record = CommandRecord(
            agent_id=agent.id,
            user_id=user_id,
            idempotency_key=key,
            command=name or "",
            params=params,
        )
        gated = policy_of(agent).gates_command(record.command)
        try:
            if gated:
                await self._await_approval(agent, record, requested_with_key)
                return record
            async with transaction(self._sessionmaker) as session:
                session.add(record)
        except IntegrityError:
            # The same key, sent twice at once: the other request runs it.
            earlier = await self._find(user_id=user_id, key=key or "")
            assert earlier is not None
            return await self._outcome_of(earlier)
        return await self._run(agent, record)

    async def _await_approval(
        self, agent: Agent, record: CommandRecord, requested_with_key: str | None
    ) -> None:
        async with self._events.transaction() as written:
            written.session.add(record)
            await written.session.flush()
            await self._gate.open(
                written,
                agent=agent,
                kind=ApprovalKind.COMMAND,
                # What a person sees (and the event carries), secret-looking values hidden;
                # the record keeps what runs.
                subject={"command": record.command, "params": redact(record.params)},
                requested_by=record.user_id,
                requested_with_key=requested_with_key,
                field="command.params",
                command_id=record.id,
            )

    async def run_approved(self, *, command_id: str, approval_id: str) -> CommandRecord | None:
        """Runs a command its approval let through (once: only the decision that approved it
        calls this); its outcome, or None when it or its agent is gone."""
        async with self._sessionmaker() as session:
            record = await session.get(CommandRecord, command_id)
            agent = await session.get(Agent, record.agent_id) if record is not None else None
        if record is None or agent is None or record.completed_at is not None:
            return record
        if agent.state is not AgentState.RUNNING:
            error = f"The agent was {agent.state.value}, not RUNNING, when it was approved."
            return await self._finish(
                record, success=False, result=None, error=error, duration=0.0, approval=approval_id
            )
        return await self._run(agent, record, approval=approval_id)

    async def abandon(self, *, record: CommandRecord, approval_id: str) -> CommandRecord:
        """An approved command whose process stopped before the agent answered: failed,
        unless its outcome came meanwhile."""
        error = "no outcome: the server running it stopped before the agent answered"
        return await self._finish(
            record, success=False, result=None, error=error, duration=0.0, approval=approval_id
        )

    async def _run(
        self, agent: Agent, record: CommandRecord, *, approval: str | None = None
    ) -> CommandRecord:
        runtime = self._runtimes.get(agent.type)
        started = time.perf_counter()
        success, result, error = False, None, None
        try:
            result = await asyncio.wait_for(
                runtime.command(handle(agent), record.command, record.params), self._timeout
            )
            success = True
        except CommandFailed as exc:
            error = str(exc) or "command failed"
        except TimeoutError:
            error = f"timed out after {self._timeout:g} s"
        except RuntimeUnavailable as exc:
            if approval is not None:  # approved and kept: it is answered, never forgotten
                error = f"The agent could not take it: {exc or 'unavailable'}"
            else:
                await self._forget(record)
                raise AgentUnavailable(str(exc) or "The agent cannot take work now.") from exc
        except Exception:
            log.exception("agent %s: command %r raised", agent.id, record.command)
            error = "the agent's runtime failed unexpectedly"
        except asyncio.CancelledError:
            # The request ended first (KAI_REQUEST_TIMEOUT_SECONDS, a server stopping):
            # the command is recorded as failed, never left without an outcome, so a
            # retry with its idempotency key answers at once instead of waiting on it.
            await self._record_cancelled(record, started, approval)
            raise
        duration = (time.perf_counter() - started) * 1000
        return await self._finish(
            record,
            success=success,
            result=result,
            error=error,
            duration=duration,
            approval=approval,
        )

    async def _finish(
        self,
        record: CommandRecord,
        *,
        success: bool,
        result: Any,
        error: str | None,
        duration: float,
        approval: str | None = None,
    ) -> CommandRecord:
        """Records the outcome and its COMMAND_RESULT event, unless the record has one
        already (an approved command the sweep gave up on: kai.services.approval)."""
        values = {
            "success": success,
            "result": result,
            "error": error,
            "duration_ms": duration,
            "completed_at": utcnow(),
        }
        async with self._events.transaction() as written:
            session = written.session
            moved = await changed_rows(
                session,
                update(CommandRecord)
                .where(col(CommandRecord.id) == record.id)
                .where(col(CommandRecord.completed_at).is_(None))
                .values(values)
                .execution_options(synchronize_session=False),
            )
            finished = await session.get_one(CommandRecord, record.id, populate_existing=True)
            if moved == 1:
                await written.append(
                    agent_id=record.agent_id,
                    type=AgentEventType.COMMAND_RESULT,
                    data=command_result_data(finished, approval_id=approval),
                )
        return finished

    async def _record_cancelled(
        self, record: CommandRecord, started: float, approval: str | None
    ) -> None:
        duration = (time.perf_counter() - started) * 1000
        ended = "the request ended" if approval is None else "the server stopped"
        finish = self._finish(
            record,
            success=False,
            result=None,
            error=f"cancelled before the agent answered: {ended}",
            duration=duration,
            approval=approval,
        )
        try:
            # Shielded: a second cancellation does not cut the write short.
            await asyncio.shield(finish)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "agent %s: could not record command %s as cancelled", record.agent_id, record.id
            )

    async def _forget(self, record: CommandRecord) -> None:
        # Nothing ran: a retry with the same key must be free to run it.
        async with transaction(self._sessionmaker) as session:
            stale = await session.get(CommandRecord, record.id)
            if stale is not None:
                await session.delete(stale)

    async def _find(self, *, user_id: str, key: str) -> CommandRecord | None:
        async with self._sessionmaker() as session:
            return await session.scalar(
                select(CommandRecord).where(
                    col(CommandRecord.user_id) == user_id,
                    col(CommandRecord.idempotency_key) == key,
                )
            )

    async def _outcome_of(self, record: CommandRecord) -> CommandRecord:
        """The first run's result; if it is still running, wait for it (bounded). One still
        waiting for a person is answered as it is (its approval PENDING)."""
        if record.completed_at is None and await self._awaits_approval(record.id):
            return record
        deadline = time.monotonic() + self._timeout + 5
        while record.completed_at is None:
            if time.monotonic() > deadline:
                raise AgentUnavailable(
                    "The first request with this idempotency key is still running."
                )
            await asyncio.sleep(IDEMPOTENCY_POLL_SECONDS)
            async with self._sessionmaker() as session:
                found = await session.get(CommandRecord, record.id, populate_existing=True)
            if found is None:
                raise AgentUnavailable("The first request with this idempotency key did not run.")
            record = found
        return record

    async def _awaits_approval(self, command_id: str) -> bool:
        async with self._sessionmaker() as session:
            state = await session.scalar(
                select(col(Approval.state)).where(col(Approval.command_id) == command_id)
            )
        return state is ApprovalState.PENDING

    async def prompt(
        self, *, agent: Agent, prompt: str, options: Any
    ) -> AsyncGenerator[Chunk, None]:
        text = bounded_text(
            prompt, field="input.prompt", max_length=100_000, required=True, multiline=True
        )
        if options is not None and not isinstance(options, dict):
            raise BadUserInput("options must be a JSON object.", field="input.options")
        require_running(agent)
        runtime = self._runtimes.get(agent.type)
        stream_id = new_id("str")
        recorder = StreamRecorder(self._events, agent_id=agent.id, stream_id=stream_id)
        index = 0
        finished = False
        try:
            async with aclosing(runtime.prompt(handle(agent), text or "", options)) as deltas:
                async for delta in deltas:
                    if not delta:
                        continue
                    await recorder.add(index, delta)
                    yield Chunk(stream_id, index, delta, False)
                    index += 1
            await recorder.finish(index)
            finished = True
        except RuntimeUnavailable as exc:
            raise AgentUnavailable(str(exc) or "The agent cannot take work now.") from exc
        except CommandFailed as exc:
            await recorder.flush()
            finished = True
            await self._events.record(
                agent_id=agent.id,
                type=AgentEventType.ERROR,
                data={"streamId": stream_id, "error": str(exc)},
            )
            raise KaiError(
                f"The agent failed to answer: {exc}", code=ErrorCode.AGENT_UNAVAILABLE
            ) from exc
        finally:
            if not finished:  # given up half way (the client went): keep what it was sent
                with contextlib.suppress(Exception):
                    await recorder.flush()
        yield Chunk(stream_id, index, "", True)
