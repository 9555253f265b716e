"""Approvals: a person decides before chosen work runs (a command, a task) or before a
remote agent's process does what it asked about.

Decided once. A decision, and the expiry of one nobody decided in time, is one UPDATE
guarded by `state = 'PENDING'` (a person's also by `expires_at` still ahead), in the
transaction that moves the gated work (kai.services.approval_outcome) and writes the
APPROVAL_DECIDED event. Of two people deciding at once, or a person and the expiry sweep,
the database lets one UPDATE match; the other matches nothing, keeps nothing and is told
CONFLICT (PostgreSQL re-reads the row after waiting for the first one's lock; SQLite has
one writer at a time). Every process sweeps (`expire_due`), and each approval expires once.

An approved command runs after the decision has committed, in the deciding process, in
the background: the decider does not wait for the agent. If that process dies before the
agent answers, the sweep records the command as failed once it is older than the command
timeout (`give_up_abandoned`): it ran at most once, and it always ends with an outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.errors import Conflict, NotFound
from kai.events.hub import EventHub
from kai.events.log import EventLog
from kai.models.agent import Agent
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.models.base import utcnow
from kai.models.command import CommandRecord
from kai.security.principal import Principal
from kai.services.approval_gate import ApprovalGate
from kai.services.approval_outcome import settle
from kai.services.approval_policy import checked_timeout
from kai.services.approval_queries import ApprovalQueries
from kai.services.approval_requests import follow_requests
from kai.services.command import CommandService
from kai.services.pagination import Pager
from kai.services.task import TaskService
from kai.services.validation import bounded_text

log = logging.getLogger(__name__)

Also = Callable[[AsyncSession], Awaitable[None]]
# Approvals one sweep expires at most; the rest wait for the next round.
SWEEP_BATCH = 200
# How long past the command timeout an approved command may go unanswered before the
# sweep gives up on the process that ran it.
ABANDON_GRACE = timedelta(seconds=30)
MAX_REASON = 1000


class _Lost(Exception):
    """The guarded UPDATE matched nothing: decided or expired already."""


class ApprovalService(ApprovalQueries):
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        pager: Pager,
        events: EventLog,
        hub: EventHub,
        gate: ApprovalGate,
        commands: CommandService,
        tasks: TaskService,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._events = events
        self._hub = hub
        self._gate = gate
        self._commands = commands
        self._tasks = tasks
        # Approved commands running in this process, each until its agent answers.
        self._running: set[asyncio.Task[None]] = set()

    async def request(
        self,
        *,
        agent: Agent,
        requested_by: str,
        requested_with_key: str | None,
        subject: Any,
        timeout_seconds: float | None,
        also: Also | None = None,
    ) -> Approval:
        """A remote agent's process asks a person (kind ACTION); it hears the decision on
        its inbox. BAD_USER_INPUT naming `subject` or `timeoutSeconds`, QUOTA_EXCEEDED past
        the requester's cap; nothing is kept then."""
        if timeout_seconds is not None:
            timeout_seconds = checked_timeout(timeout_seconds, field="timeoutSeconds")
        async with self._events.transaction() as written:
            if also is not None:
                await also(written.session)
            return await self._gate.open(
                written,
                agent=agent,
                kind=ApprovalKind.ACTION,
                subject=subject,
                requested_by=requested_by,
                requested_with_key=requested_with_key,
                field="subject",
                timeout_seconds=timeout_seconds,
            )

    async def decide(
        self,
        *,
        approval_id: str,
        approve: bool,
        reason: str | None,
        decided_by: str,
        also: Also | None = None,
    ) -> Approval:
        """The person's decision, if it is the first and in time; else CONFLICT, nothing
        changed. Approved, its command starts running here, its task gets its wake-up."""
        reason = bounded_text(reason, field="reason", max_length=MAX_REASON)
        state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        now = utcnow()
        try:
            decided = await self._close(approval_id, state, reason, decided_by, now, also)
        except _Lost:
            current = await self.get(approval_id=approval_id)
            if current is None:  # its agent was deleted meanwhile, and it with it
                raise NotFound("Approval") from None
            if current.state is ApprovalState.PENDING:
                raise Conflict("The approval expired before it was decided.") from None
            raise Conflict(f"The approval was already {current.state.value}.") from None
        if decided.state is ApprovalState.APPROVED:
            await self._let_through(decided)
        return decided

    def requests(
        self, *, principal: Principal, asked: datetime | None = None
    ) -> AsyncGenerator[Approval, None]:
        """New PENDING approvals `principal` may decide, live, from when they `asked`
        (kai.services.approval_requests)."""
        return follow_requests(self, self._hub, principal=principal, asked=asked)

    async def cancel_task(self, *, task_id: str, cancelled_by: str) -> bool:
        """A task AWAITING_APPROVAL cancelled by its owner: its approval is withdrawn
        (REJECTED, saying so) and the task CANCELLED, both or neither. False when the
        approval was decided first."""
        async with self._sessionmaker() as session:
            approval_id = await session.scalar(
                select(col(Approval.id)).where(
                    col(Approval.task_id) == task_id, col(Approval.state) == ApprovalState.PENDING
                )
            )
        if approval_id is None:
            return False
        reason = "withdrawn: the task was cancelled"
        try:
            await self._close(
                approval_id, ApprovalState.REJECTED, reason, cancelled_by, utcnow(), timely=False
            )
        except _Lost:
            return False
        return True

    async def expire_due(self) -> int:
        """One round of the sweep: approvals whose time is up expire, their work refused;
        approved commands whose process never answered are given up on. How many this
        process expired (another may have got to some first)."""
        now = utcnow()
        async with self._sessionmaker() as session:
            due = (
                await session.scalars(
                    select(Approval)
                    .where(
                        col(Approval.state) == ApprovalState.PENDING,
                        col(Approval.expires_at) <= now,
                    )
                    .order_by(col(Approval.expires_at))
                    .limit(SWEEP_BATCH)
                )
            ).all()
        expired = 0
        for approval in due:
            seconds = (approval.expires_at - approval.created_at).total_seconds()
            reason = f"nobody decided within {seconds:g} s"
            try:
                await self._close(approval.id, ApprovalState.EXPIRED, reason, None, now)
                expired += 1
            except _Lost:
                continue  # decided just now, or expired by another process
        await self.give_up_abandoned(now)
        return expired

    async def give_up_abandoned(self, now: datetime) -> int:
        """Approved commands still without an outcome long after their approval: the
        process running them stopped. Each is recorded failed (once: the write is guarded
        by the outcome still missing), with its COMMAND_RESULT event."""
        cutoff = now - timedelta(seconds=self._commands.timeout_seconds) - ABANDON_GRACE
        approved = (
            select(col(Approval.id))
            .where(
                col(Approval.command_id) == col(CommandRecord.id),
                col(Approval.state) == ApprovalState.APPROVED,
                col(Approval.decided_at) < cutoff,
            )
            .scalar_subquery()
        )
        async with self._sessionmaker() as session:
            # From the unfinished commands (a partial index holds only those), not from
            # the approved approvals, which only grow.
            rows = (
                await session.execute(
                    select(CommandRecord, approved)
                    .where(col(CommandRecord.completed_at).is_(None), approved.is_not(None))
                    .limit(SWEEP_BATCH)
                )
            ).all()
        for record, approval_id in rows:
            log.warning("approved command %s never got an answer: failed", record.id)
            await self._commands.abandon(record=record, approval_id=approval_id)
        return len(rows)

    async def _close(
        self,
        approval_id: str,
        state: ApprovalState,
        reason: str | None,
        decided_by: str | None,
        now: datetime,
        also: Also | None = None,
        *,
        timely: bool = True,
    ) -> Approval:
        """The guarded decision and what it does to the work, in one transaction; _Lost,
        and nothing kept, unless the approval was still PENDING and, with `timely`, its
        time was up for an expiry or not up yet for a decision."""
        guard = [col(Approval.id) == approval_id, col(Approval.state) == ApprovalState.PENDING]
        if timely and state is ApprovalState.EXPIRED:
            guard.append(col(Approval.expires_at) <= now)
        elif timely:
            guard.append(col(Approval.expires_at) > now)
        async with self._events.transaction() as written:
            if also is not None:
                await also(written.session)
            decided = (
                await written.session.scalars(
                    update(Approval)
                    .where(*guard)
                    .values(state=state, reason=reason, decided_by=decided_by, decided_at=now)
                    .returning(Approval)
                    .execution_options(populate_existing=True, synchronize_session=False)
                )
            ).one_or_none()
            if decided is None:
                raise _Lost
            await settle(written, decided, now)
        return decided

    async def _let_through(self, approval: Approval) -> None:
        """After an approval's commit: its task is woken, its command started."""
        if approval.kind is ApprovalKind.TASK and approval.task_id is not None:
            try:
                await self._tasks.dispatch(approval.task_id)
            except Exception as exc:  # the sweep sends the wake-up once the broker is back
                log.warning("approved task %s not dispatched yet: %r", approval.task_id, exc)
        elif approval.kind is ApprovalKind.COMMAND and approval.command_id is not None:
            running = asyncio.create_task(
                self._run_command(approval.command_id, approval.id),
                name=f"approved command {approval.command_id}",
            )
            self._running.add(running)
            running.add_done_callback(self._running.discard)

    async def _run_command(self, command_id: str, approval_id: str) -> None:
        try:
            await self._commands.run_approved(command_id=command_id, approval_id=approval_id)
        except Exception:
            log.exception("approved command %s could not run", command_id)

    async def aclose(self) -> None:
        """Approved commands still running are cancelled: each records its outcome
        (cancelled) before the process goes."""
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
