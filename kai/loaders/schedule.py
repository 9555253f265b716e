from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.loaders.by_id import ByIdLoader
from kai.models.schedule import Schedule


class ScheduleByIdLoader(ByIdLoader[Schedule]):
    """Task.schedule for a page of tasks: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        super().__init__(sessionmaker, Schedule)
