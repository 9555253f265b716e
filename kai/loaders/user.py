from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.loaders.by_id import ByIdLoader
from kai.models.user import User


class UserByIdLoader(ByIdLoader[User]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        super().__init__(sessionmaker, User)
