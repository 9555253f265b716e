from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from kai.models.file import StoredFile
from kai.services.file import FileService


class FilesByAgentIdLoader(DataLoader[str, list[StoredFile]]):
    def __init__(self, files: FileService):
        async def load(agent_ids: list[str]) -> Sequence[list[StoredFile]]:
            found = await files.by_agents(agent_ids)
            return [found[agent_id] for agent_id in agent_ids]

        super().__init__(load_fn=load)
