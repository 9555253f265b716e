from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from strawberry.dataloader import DataLoader

from kai.models.user import User


class UserByIdLoader(DataLoader[str, User | None]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        async def load(ids: list[str]) -> Sequence[User | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(select(User).where(col(User.id).in_(ids)))
                by_id = {row.id: row for row in rows}
            return [by_id.get(user_id) for user_id in ids]

        super().__init__(load_fn=load)
