"""An agents list reads what its items' fields will be asked for, for the whole page at
once: owners, statuses and files, each one batched statement (through the request's
loaders, so a field that still loads its own shares the cache). The agents' fields then
answer synchronously (kai.schema.agent): no task and no loader round per agent.

Only data is read ahead. Permission checks stay in the fields, run where and as often
as before (the same audit rows); a field that is never executed (`@skip`) was read for
nothing, which costs a statement, never an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kai.schema.agent_status import AgentStatus
from kai.schema.selections import selected_under
from kai.schema.user import User

if TYPE_CHECKING:
    from kai.context import Info
    from kai.schema.agent import Agent
    from kai.schema.file import File


@dataclass(frozen=True)
class ReadAhead:
    owners: Mapping[str, User] = field(default_factory=dict)  # by user id
    statuses: Mapping[str, AgentStatus] = field(default_factory=dict)  # by agent id
    files: Mapping[str, list[File]] = field(default_factory=dict)  # by agent id


async def read_ahead(info: Info, agents: Sequence[Agent], *path: str) -> None:
    """Reads for `agents` what the selection at `path` (below the field being resolved)
    asks of them, and hands it to each."""
    if not agents:
        return
    wanted = selected_under(info, *path)
    owners, statuses, files = await asyncio.gather(
        _owners(info, agents) if "owner" in wanted else _nothing(),
        _statuses(info, agents) if "status" in wanted else _nothing(),
        _files(info, agents) if "files" in wanted else _nothing(),
    )
    ahead = ReadAhead(owners=owners, statuses=statuses, files=files)
    for agent in agents:
        agent.ahead = ahead


async def _nothing() -> dict[str, Any]:
    return {}


async def _owners(info: Info, agents: Sequence[Agent]) -> dict[str, User]:
    ids = sorted({agent.row.owner_id for agent in agents})
    rows = await info.context.loaders.user_by_id.load_many(ids)
    # A missing owner (deleted meanwhile) is left to the field, which says so.
    return {row.id: User.from_row(row) for row in rows if row is not None}


async def _statuses(info: Info, agents: Sequence[Agent]) -> dict[str, AgentStatus]:
    loaders = info.context.loaders
    ids = [agent.row.id for agent in agents]
    stats, counts = await asyncio.gather(
        loaders.command_stats_by_agent_id.load_many(ids),
        loaders.task_counts_by_agent_id.load_many(ids),
    )
    timeout = info.context.services.settings.heartbeat_timeout_seconds
    return {
        agent.row.id: AgentStatus.build(
            agent.row, stat, task_counts=count, heartbeat_timeout=timeout
        )
        for agent, stat, count in zip(agents, stats, counts, strict=True)
    }


async def _files(info: Info, agents: Sequence[Agent]) -> dict[str, list[File]]:
    from kai.schema.file import File

    ids = [agent.row.id for agent in agents]
    rows = await info.context.loaders.files_by_agent_id.load_many(ids)
    return {
        agent_id: [File.from_row(row) for row in agent_rows]
        for agent_id, agent_rows in zip(ids, rows, strict=True)
    }
