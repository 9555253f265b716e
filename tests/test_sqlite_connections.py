"""SQLite connections end, whatever the moment their task is cancelled at.

A connection that SQLAlchemy invalidates is closed in a shielded task; cancelled once
more meanwhile, SQLAlchemy also stops the connection's thread, and aiosqlite's close then
waited forever for a thread that had ended (kai/aiosqlite_seams.py). Any shutdown that
waits for every task (asyncio.run, uvicorn, pytest) then hung with it.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path

import aiosqlite
from sqlalchemy import text

from kai import aiosqlite_seams
from kai.db import create_engine, create_sessionmaker

# Long enough that a cancellation lands in the middle of it, short enough to loop over.
COUNTING_QUERY = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
    "SELECT count(*) FROM c"
)
# Far above what a close takes (milliseconds): reaching it means it never ends.
NEVER = 30.0


async def test_a_connection_stopped_while_it_closes_still_closes(tmp_path: Path) -> None:
    aiosqlite_seams.install()
    connection = await aiosqlite.connect(tmp_path / "closing.db")
    closing = asyncio.ensure_future(connection.close())
    await asyncio.sleep(0)  # close() has asked the thread to close, and waits
    connection.stop()  # what SQLAlchemy does when the task closing it is cancelled
    await asyncio.wait_for(closing, NEVER)


async def test_tasks_cancelled_again_and_again_while_they_query_all_end(tmp_path: Path) -> None:
    """Each round starts four tasks that query without end, lets them run for a
    generated moment, then cancels them on every turn of the loop until they end (as
    kai.aio.stop_tasks does, more often). Every task, SQLAlchemy's own included, ends."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cancelled.db'}")
    sessionmaker = create_sessionmaker(engine)
    moments = random.Random(20261205)
    threads_before = _connection_threads()

    async def query_forever() -> None:
        while True:
            async with sessionmaker() as session:
                await session.execute(COUNTING_QUERY)

    try:
        for _ in range(40):
            tasks = [asyncio.ensure_future(query_forever()) for _ in range(4)]
            await asyncio.sleep(moments.random() * 0.02)
            while not all(task.done() for task in tasks):
                for task in tasks:
                    task.cancel()
                await asyncio.sleep(0)
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if others:
                _, pending = await asyncio.wait(others, timeout=NEVER)
                assert not pending, [task.get_coro() for task in pending]
    finally:
        await engine.dispose()
        # A stopped connection's thread ends once it has finished the statement it was
        # running: wait for every one, so that none outlives this test's event loop.
        async with asyncio.timeout(NEVER):
            while _connection_threads() - threads_before:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


def _connection_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}
