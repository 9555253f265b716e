"""The shape every XByIdLoader shares: rows of one table by their id, one statement per
batch, None for an id with no row (deleted meanwhile, or never there)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from strawberry.dataloader import DataLoader


class HasId(Protocol):
    id: str


Row = TypeVar("Row", bound=HasId)


class ByIdLoader(DataLoader[str, Row | None]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], model: type[Row]):
        async def load(ids: list[str]) -> Sequence[Row | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(select(model).where(col(model.id).in_(ids)))
                by_id = {row.id: row for row in rows}
            return [by_id.get(row_id) for row_id in ids]

        super().__init__(load_fn=load)
