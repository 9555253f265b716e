"""Agents: registry and lifecycle (STARTING -> RUNNING -> STOPPED / ERROR)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.errors import Conflict, NotFound, QuotaExceeded
from kai.events.log import EventLog
from kai.models.agent import Agent, AgentState
from kai.models.agent_event import AgentEventType
from kai.models.base import JsonArrayHas, utcnow
from kai.models.task import Task, TaskState
from kai.runtimes import RuntimeRegistry
from kai.runtimes.base import AgentHandle, Reattachable
from kai.security.principal import Principal
from kai.services import agent_config
from kai.services.approval_policy import ApprovalPolicy
from kai.services.pagination import Kind, Page, Pager, Sorting, few, fragment, ordering

log = logging.getLogger(__name__)

# How `agents` sorts: by each field of AgentOrderField, then by id.
AGENT_ORDER_KEYS: dict[str, tuple[Any, Kind]] = {
    "CREATED_AT": (col(Agent.created_at), "datetime"),
    "NAME": (func.lower(col(Agent.name)), "str"),
}


@dataclass(frozen=True, slots=True)
class AgentFilter:
    """What `agents(filter:)` keeps; None keeps all, an empty list none."""

    states: Sequence[AgentState] | None = None
    types: Sequence[str] | None = None
    name_contains: str | None = None
    capability: str | None = None
    owner_id: str | None = None


LEGAL: dict[AgentState, frozenset[AgentState]] = {
    AgentState.STOPPED: frozenset({AgentState.STARTING}),
    AgentState.STARTING: frozenset({AgentState.RUNNING, AgentState.ERROR, AgentState.STOPPED}),
    AgentState.RUNNING: frozenset({AgentState.STOPPED, AgentState.ERROR}),
    AgentState.ERROR: frozenset({AgentState.STARTING, AgentState.STOPPED}),
}


def handle(agent: Agent) -> AgentHandle:
    return AgentHandle(
        id=agent.id,
        owner_id=agent.owner_id,
        name=agent.name,
        type=agent.type,
        configuration=dict(agent.configuration),
        state=agent.state.value,
    )


class AgentService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtimes: RuntimeRegistry,
        events: EventLog,
        pager: Pager,
        agents_per_user: int = 100,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self.runtimes = runtimes
        self._events = events
        self._agents_per_user = agents_per_user

    async def get(self, *, agent_id: str) -> Agent | None:
        async with self._sessionmaker() as session:
            return await session.get(Agent, agent_id, populate_existing=True)

    async def page(
        self,
        *,
        principal: Principal,
        filter: AgentFilter,
        sorting: Sorting,
        first: int | None,
        after: str | None,
    ) -> Page[Agent]:
        """The caller's agents (ADMIN: everyone's; an API key limited to some agents: those)."""
        filters: list[ColumnElement[bool]] = []
        if not principal.is_admin:
            filters.append(col(Agent.owner_id) == principal.user_id)
        if principal.agent_ids is not None:
            filters.append(col(Agent.id).in_(sorted(principal.agent_ids)))
        if (states := few(filter.states, field="filter.states")) is not None:
            filters.append(col(Agent.state).in_(states))
        if (types := few(filter.types, field="filter.types")) is not None:
            filters.append(col(Agent.type).in_(types))
        if (name := fragment(filter.name_contains, field="filter.nameContains")) is not None:
            filters.append(col(Agent.name).icontains(name, autoescape=True))
        if (capability := fragment(filter.capability, field="filter.capability")) is not None:
            filters.append(JsonArrayHas(col(Agent.capabilities), capability))
        if filter.owner_id is not None:
            filters.append(col(Agent.owner_id) == filter.owner_id)
        order = ordering("agents", AGENT_ORDER_KEYS, col(Agent.id), sorting)
        return await self._pager.fetch(
            self._sessionmaker, Agent, filters, order, first=first, after=after
        )

    async def create(
        self,
        *,
        principal: Principal,
        name: str,
        type: str,
        capabilities: Sequence[str] | None,
        configuration: Any,
        resources: dict[str, Any] | None,
        approval_policy: ApprovalPolicy | None = None,
    ) -> Agent:
        """`approval_policy` has been checked (kai.services.approval_policy.checked_policy)."""
        runtime = self.runtimes.get(type, field="input.type")
        agent = Agent(
            owner_id=principal.user_id,
            name=agent_config.agent_name(name, field="input.name"),
            type=runtime.name,
            capabilities=agent_config.capabilities(capabilities, field="input.capabilities"),
            configuration=agent_config.configuration(
                runtime, configuration, field="input.configuration"
            ),
            resources=agent_config.resources(resources, field="input.resources"),
            approval_policy=approval_policy.stored() if approval_policy is not None else None,
        )
        async with transaction(self._sessionmaker) as session:
            owned = await session.scalar(
                select(func.count()).where(col(Agent.owner_id) == principal.user_id)
            )
            if (owned or 0) >= self._agents_per_user:  # Q1
                raise QuotaExceeded("agents", quota="agents", limit=self._agents_per_user)
            session.add(agent)
        if runtime.auto_start:
            agent = await self.start(agent_id=agent.id, reason="created")
        return agent

    async def update(
        self,
        *,
        agent: Agent,
        name: str | None,
        capabilities: Sequence[str] | None,
        configuration: Any,
        resources: dict[str, Any] | None,
        configuration_given: bool,
        approval_policy: ApprovalPolicy | None = None,
    ) -> Agent:
        """`approval_policy`, checked, replaces the agent's whole policy."""
        runtime = self.runtimes.get(agent.type)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if name is not None:
            values["name"] = agent_config.agent_name(name, field="input.name")
        if capabilities is not None:
            values["capabilities"] = agent_config.capabilities(
                capabilities, field="input.capabilities"
            )
        if configuration_given:
            values["configuration"] = agent_config.configuration(
                runtime, configuration, field="input.configuration", stored=agent.configuration
            )
        if resources is not None:
            values["resources"] = agent_config.resources(
                {**agent.resources, **resources}, field="input.resources"
            )
        if approval_policy is not None:
            values["approval_policy"] = approval_policy.stored()
        async with transaction(self._sessionmaker) as session:
            await session.execute(update(Agent).where(col(Agent.id) == agent.id).values(values))
            updated = await session.get_one(Agent, agent.id, populate_existing=True)
        return updated

    async def start(self, *, agent_id: str, reason: str) -> Agent:
        agent = await self.transition(agent_id=agent_id, to=AgentState.STARTING, reason=reason)
        runtime = self.runtimes.get(agent.type)
        try:
            await runtime.start(handle(agent))
        except Exception as exc:
            log.warning("agent %s failed to start: %r", agent_id, exc)
            return await self.transition(
                agent_id=agent_id, to=AgentState.ERROR, reason="start failed", error=str(exc)
            )
        return await self.transition(agent_id=agent_id, to=AgentState.RUNNING, reason=reason)

    async def stop(self, *, agent_id: str, reason: str) -> Agent:
        agent = await self._get_or_404(agent_id)
        if agent.state is AgentState.STOPPED:
            return agent
        runtime = self.runtimes.get(agent.type)
        if not runtime.auto_start:
            # Its process may detach by itself at any moment: record STOPPED first
            # (releasing its inbox), then tell the process.
            stopped = await self._stop_detached(agent_id=agent_id, reason=reason)
            await runtime.stop(handle(agent))
            return stopped
        await runtime.stop(handle(agent))
        return await self.transition(agent_id=agent_id, to=AgentState.STOPPED, reason=reason)

    async def restart(self, *, agent_id: str) -> Agent:
        agent = await self._get_or_404(agent_id)
        runtime = self.runtimes.get(agent.type)
        if not runtime.auto_start:
            # Its own process starts it: STOPPED now, RUNNING once the process re-attaches.
            if agent.state is not AgentState.STOPPED:
                agent = await self._stop_detached(agent_id=agent_id, reason="restart")
            if isinstance(runtime, Reattachable):
                await runtime.request_restart(handle(agent))
            return agent
        await self.stop(agent_id=agent_id, reason="restart")
        return await self.start(agent_id=agent_id, reason="restart")

    async def _stop_detached(self, *, agent_id: str, reason: str) -> Agent:
        """STOPPED with no process attached, whether this call or the process leaving got there."""
        try:
            return await self.transition(
                agent_id=agent_id,
                to=AgentState.STOPPED,
                reason=reason,
                values={"inbox_id": None, "memory_usage": None, "cpu_usage": None},
            )
        except Conflict:
            agent = await self._get_or_404(agent_id)
            if agent.state is AgentState.STOPPED:
                return agent
            raise

    async def delete(self, *, agent_id: str) -> str:
        agent = await self._get_or_404(agent_id)
        try:
            await self.runtimes.get(agent.type).stop(handle(agent))
        except Exception as exc:  # deleting must not depend on a healthy runtime
            log.warning("agent %s did not stop cleanly before deletion: %r", agent_id, exc)
        async with transaction(self._sessionmaker) as session:
            # Logs, events and commands go with the row (ON DELETE CASCADE).
            await session.execute(delete(Agent).where(col(Agent.id) == agent_id))
        await self._events.announce_deleted(agent_id=agent_id)
        return agent_id

    async def transition(
        self,
        *,
        agent_id: str,
        to: AgentState,
        reason: str,
        error: str | None = None,
        values: dict[str, Any] | None = None,
        expect: dict[str, Any] | None = None,
    ) -> Agent:
        """Move to `to` if the state machine allows it (else CONFLICT); one STATUS_UPDATE event.

        The UPDATE names the state it read, so of two racing changes one wins and
        the other re-reads: no backend lock is needed. `expect` names columns that
        must hold these values too (e.g. the inbox that attached it), else CONFLICT.
        """
        guards = [
            getattr(Agent, key).is_(None) if value is None else getattr(Agent, key) == value
            for key, value in (expect or {}).items()
        ]
        for _ in range(10):
            agent = await self._get_or_404(agent_id)
            if any(getattr(agent, key) != value for key, value in (expect or {}).items()):
                raise Conflict("The agent changed meanwhile.")
            if to not in LEGAL[agent.state]:
                raise Conflict(f"An agent cannot go from {agent.state.value} to {to.value}.")
            changes = _transition_values(to, reason=reason, error=error, values=values)
            async with self._events.transaction() as written:
                session = written.session
                moved = await changed_rows(
                    session,
                    update(Agent)
                    .where(col(Agent.id) == agent_id, col(Agent.state) == agent.state, *guards)
                    .values(changes),
                )
                if moved != 1:
                    continue
                if to is not AgentState.RUNNING:
                    await _release_wakeups(session, agent_id)
                await written.append(
                    agent_id=agent_id,
                    type=AgentEventType.STATUS_UPDATE,
                    data={"from": agent.state.value, "to": to.value, "reason": reason}
                    | ({"error": error} if error else {}),
                )
                updated = await session.get_one(Agent, agent_id, populate_existing=True)
            return updated
        raise Conflict("The agent's state keeps changing; try again.")

    async def _get_or_404(self, agent_id: str) -> Agent:
        agent = await self.get(agent_id=agent_id)
        if agent is None:
            raise NotFound("Agent")
        return agent


def _transition_values(
    to: AgentState, *, reason: str, error: str | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    now = utcnow()
    changes: dict[str, Any] = {
        "state": to,
        "updated_at": now,
        "running_since": now if to is AgentState.RUNNING else None,
        **(values or {}),
    }
    if to is AgentState.ERROR:
        changes["last_error"] = (error or reason)[:1000]
    return changes


async def _release_wakeups(session: AsyncSession, agent_id: str) -> None:
    """An agent that stops running: its waiting tasks give back their wake-ups; a sweep
    sends new ones once the agent runs again (TaskService.dispatch)."""
    await session.execute(
        update(Task)
        .where(col(Task.agent_id) == agent_id, col(Task.state) == TaskState.PENDING)
        .values(dispatched=False)
    )
