from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from kai.services.agent_status import AgentStatusService, CommandStats


class CommandStatsByAgentIdLoader(DataLoader[str, CommandStats]):
    def __init__(self, status: AgentStatusService):
        async def load(agent_ids: list[str]) -> Sequence[CommandStats]:
            stats = await status.command_stats(agent_ids)
            return [stats.get(agent_id, CommandStats()) for agent_id in agent_ids]

        super().__init__(load_fn=load)
