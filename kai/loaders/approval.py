from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from strawberry.dataloader import DataLoader

from kai.models.approval import Approval


class ApprovalByCommandIdLoader(DataLoader[str, Approval | None]):
    """CommandResult.approval: the approval a command waited for, if any."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        async def load(ids: list[str]) -> Sequence[Approval | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(
                    select(Approval).where(col(Approval.command_id).in_(ids))
                )
                by_command = {row.command_id: row for row in rows}
            return [by_command.get(command_id) for command_id in ids]

        super().__init__(load_fn=load)


class ApprovalByTaskIdLoader(DataLoader[str, Approval | None]):
    """Task.approval for a page of tasks: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        async def load(ids: list[str]) -> Sequence[Approval | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(select(Approval).where(col(Approval.task_id).in_(ids)))
                by_task = {row.task_id: row for row in rows}
            return [by_task.get(task_id) for task_id in ids]

        super().__init__(load_fn=load)
