from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from strawberry.dataloader import DataLoader

from kai.models.schedule import Schedule


class ScheduleByIdLoader(DataLoader[str, Schedule | None]):
    """Task.schedule for a page of tasks: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        async def load(ids: list[str]) -> Sequence[Schedule | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(select(Schedule).where(col(Schedule.id).in_(ids)))
                by_id = {row.id: row for row in rows}
            return [by_id.get(schedule_id) for schedule_id in ids]

        super().__init__(load_fn=load)
