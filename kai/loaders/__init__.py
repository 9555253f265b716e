"""DataLoaders, one set per request (or per subscription event), named XByYLoader."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.loaders.user import UserByIdLoader


@dataclass(slots=True)
class Loaders:
    user_by_id: UserByIdLoader

    @classmethod
    def create(cls, sessionmaker: async_sessionmaker[AsyncSession]) -> Loaders:
        return cls(user_by_id=UserByIdLoader(sessionmaker))
