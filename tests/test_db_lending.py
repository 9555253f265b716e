"""kai.db.lending: the transactions of one piece of work (a worker's claim and outcome)
take turns on one pooled connection, checked out once, and never share it at once.
Checkouts are counted (the pool's events), never timed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kai.db import create_engine, create_sessionmaker, lending, transaction


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url)
    try:
        yield made
    finally:
        await made.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@contextmanager
def checkouts(engine: AsyncEngine) -> Iterator[list[int]]:
    """One entry per connection taken from the pool while the block runs."""
    taken: list[int] = []

    def count(*_: Any) -> None:
        taken.append(1)

    event.listen(engine.sync_engine.pool, "checkout", count)
    try:
        yield taken
    finally:
        event.remove(engine.sync_engine.pool, "checkout", count)


async def one(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessionmaker) as session:
        return int(await session.scalar(text("SELECT 1")) or 0)


async def test_transactions_within_the_loan_take_one_checkout(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    with checkouts(engine) as pooled:
        for _ in range(3):
            await one(sessionmaker)
    with checkouts(engine) as lent:
        async with lending(sessionmaker, for_seconds=10):
            for _ in range(3):
                await one(sessionmaker)

    assert (len(pooled), len(lent)) == (3, 1)


async def test_a_loan_in_use_is_never_shared_at_once(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def slow() -> int:
        async with transaction(sessionmaker) as session:
            await asyncio.sleep(0.05)
            return int(await session.scalar(text("SELECT 2")) or 0)

    with checkouts(engine) as taken:
        async with lending(sessionmaker, for_seconds=10):
            answers = await asyncio.gather(slow(), one(sessionmaker), slow())

    assert list(answers) == [2, 1, 2]
    if engine.dialect.name == "sqlite":
        assert len(taken) == 1  # SQLite's writes take turns (kai.db.write_turn) anyway
    else:
        assert len(taken) == 3  # the loan, and a pooled connection for each that found it busy


async def test_a_loan_whose_time_is_up_goes_back_to_the_pool(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    pool = engine.sync_engine.pool
    with checkouts(engine) as taken:
        async with lending(sessionmaker, for_seconds=0.05):
            await one(sessionmaker)
            # Given back once the time is up (a rollback's round trip, which a busy machine
            # may take a while over): not when the block ends.
            async with asyncio.timeout(10):
                while (out_while_lent := pool.checkedout()) != 0:  # type: ignore[attr-defined]  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            await one(sessionmaker)

    assert out_while_lent == 0
    assert len(taken) == 2  # the loan, then a pooled connection after it ended
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_broken_loan_is_left_for_a_pooled_connection(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    with checkouts(engine) as taken:
        async with lending(sessionmaker, for_seconds=10):
            async with transaction(sessionmaker) as session:
                connection = await session.connection()
            await connection.invalidate()  # what a database restart does to it
            assert await one(sessionmaker) == 1
            assert await one(sessionmaker) == 1

    assert len(taken) == 3  # the loan, then a pooled connection for each after it broke
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
