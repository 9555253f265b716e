"""Health and metrics, measured from what happened: command timings, heartbeats, states.

A value nothing measured is None, never a guess. Batched over many agents, so a
list of N agents costs the same few statements as one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.models.agent import Agent, AgentState
from kai.models.base import utcnow
from kai.models.command import CommandRecord

# Health looks at the most recent commands only, so an old outage does not
# keep a recovered agent DEGRADED.
RECENT_COMMANDS = 100
DEGRADED_FAILURE_RATIO = 0.5


@dataclass(frozen=True, slots=True)
class CommandStats:
    total: int = 0
    failed: int = 0
    recent_durations: tuple[float, ...] = ()
    recent_failures: int = 0

    @property
    def mean_ms(self) -> float | None:
        if not self.recent_durations:
            return None
        return sum(self.recent_durations) / len(self.recent_durations)

    @property
    def p95_ms(self) -> float | None:
        if not self.recent_durations:
            return None
        ordered = sorted(self.recent_durations)
        # Nearest-rank percentile: an observed value, not an interpolation.
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    uptime: float
    memory_usage: float | None
    cpu_usage: float | None
    response_time: float | None


def health_of(
    agent: Agent, stats: CommandStats, *, heartbeat_timeout: float, now: datetime | None = None
) -> Health:
    now = now or utcnow()
    running = agent.state is AgentState.RUNNING
    status = "UNHEALTHY"
    if running:
        status = "HEALTHY"
        recent = len(stats.recent_durations)
        if recent and stats.recent_failures / recent >= DEGRADED_FAILURE_RATIO:
            status = "DEGRADED"
        if agent.type == "remote" and (
            agent.last_seen is None or now - agent.last_seen > timedelta(seconds=heartbeat_timeout)
        ):
            status = "UNHEALTHY"
    uptime = (now - agent.running_since).total_seconds() if running and agent.running_since else 0.0
    return Health(
        status=status,
        uptime=max(uptime, 0.0),
        memory_usage=agent.memory_usage,
        cpu_usage=agent.cpu_usage,
        response_time=stats.mean_ms,
    )


class AgentStatusService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession]):
        self._sessionmaker = sessionmaker

    async def command_stats(self, agent_ids: Sequence[str]) -> dict[str, CommandStats]:
        if not agent_ids:
            return {}
        finished = col(CommandRecord.completed_at).is_not(None)
        totals = (
            select(
                col(CommandRecord.agent_id),
                func.count(),
                func.sum(case((col(CommandRecord.success).is_(False), 1), else_=0)),
            )
            .where(col(CommandRecord.agent_id).in_(agent_ids), finished)
            .group_by(col(CommandRecord.agent_id))
        )
        ranked = (
            select(
                col(CommandRecord.agent_id).label("agent_id"),
                col(CommandRecord.duration_ms).label("duration_ms"),
                col(CommandRecord.success).label("success"),
                func.row_number()
                .over(
                    partition_by=col(CommandRecord.agent_id),
                    order_by=col(CommandRecord.created_at).desc(),
                )
                .label("rank"),
            )
            .where(col(CommandRecord.agent_id).in_(agent_ids), finished)
            .subquery()
        )
        recent = select(ranked.c.agent_id, ranked.c.duration_ms, ranked.c.success).where(
            ranked.c.rank <= RECENT_COMMANDS
        )
        async with self._sessionmaker() as session:
            total_rows = (await session.execute(totals)).all()
            recent_rows = (await session.execute(recent)).all()
        durations: dict[str, list[float]] = defaultdict(list)
        failures: dict[str, int] = defaultdict(int)
        for agent_id, duration, success in recent_rows:
            durations[agent_id].append(float(duration or 0.0))
            failures[agent_id] += 0 if success else 1
        return {
            agent_id: CommandStats(
                total=int(total),
                failed=int(failed or 0),
                recent_durations=tuple(durations[agent_id]),
                recent_failures=failures[agent_id],
            )
            for agent_id, total, failed in total_rows
        }
