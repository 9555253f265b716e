"""A SQLite connection closed with a statement still held ends its transaction first.

sqlite3's close leaves a connection whose cursor still holds a statement as a zombie that
keeps its transaction and the database's write lock until that cursor is collected: one
discarded after a cancelled `UPDATE ... RETURNING` blocked every other writer of the
process (and a server's stop) for SQLite's whole busy timeout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kai.db import create_engine
from kai.sqlite_connections import RollbackOnClose


def can_write(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0.2)
    try:
        other.execute("UPDATE t SET n = n + 1 WHERE id = 2")
        other.commit()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@pytest.mark.parametrize("factory", [RollbackOnClose, sqlite3.Connection])
def test_a_connection_closed_with_an_unfetched_returning_releases_the_write_lock(
    tmp_path: Path, factory: type[sqlite3.Connection]
) -> None:
    path = tmp_path / "kai.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    setup.execute("INSERT INTO t VALUES (1, 0), (2, 0)")
    setup.commit()
    setup.close()

    connection = sqlite3.connect(path, timeout=0.2, factory=factory)
    cursor = connection.cursor()
    cursor.execute("UPDATE t SET n = n + 1 WHERE id = 1 RETURNING n")  # its row never fetched
    assert not can_write(path)
    connection.close()

    # sqlite3's own class keeps the lock while the cursor lives (why kAI has its own).
    assert can_write(path) is (factory is RollbackOnClose)
    del cursor


async def test_the_engine_opens_connections_that_roll_back_on_close(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kai.db'}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver._connection, RollbackOnClose)  # type: ignore[union-attr]
    finally:
        await engine.dispose()
