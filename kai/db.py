"""Database engine and sessions: SQLite (aiosqlite) or PostgreSQL (asyncpg), same models."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable

from kai import aiosqlite_seams
from kai.aio import completed
from kai.sqlite_connections import RollbackOnClose

log = logging.getLogger(__name__)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        aiosqlite_seams.install()  # a connection closed while cancelled twice hung forever
        # Connections past pool_size are closed when given back, and each new one is a
        # thread, a file open and four PRAGMAs: under load the default 5 churned.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "factory": RollbackOnClose}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


# SQLSTATEs of a database that is away rather than of a bad statement: class 08
# (connection exception), 57P (operator intervention: shutting down, terminated by an
# administrator or a crash, starting up) and 53300 (too many connections).
_AWAY_SQLSTATES = ("08", "57P", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is down, restarting or unreachable: a service
    outage to answer SERVICE_UNAVAILABLE or wait out, not a bug.

    asyncpg's errors reach SQLAlchemy as a plain DBAPIError, not an OperationalError:
    a connection cut mid-statement (PostgreSQL stopped or restarted) is one whose
    connection SQLAlchemy invalidated, and a connection refused while PostgreSQL shuts
    down or starts up ("the database system is shutting down", 57P03) is known only
    by its SQLSTATE.
    """
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_AWAY_SQLSTATES)
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes a second
    # writer wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer at a time, and a connection that finds the database locked
# sleeps in growing steps (up to 100 ms) in its thread before it tries again: unfair,
# so under many concurrent writers one can wait the whole busy_timeout (30 s), and a
# write cancelled meanwhile (its client went) cannot even roll back until it returns.
# Audit rows alone, written this way, took a 100-agent list's p99 from 0.3 s to 1.3 s
# with 8 clients (bench/http.py). So on SQLite this process's write transactions take
# turns on an asyncio lock, first come first served, which hands over at once and whose
# wait a cancellation ends at once. PostgreSQL writes concurrently. One lock per
# session maker (per app, per event loop).
_SQLITE_WRITE_TURNS: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()
# Set while this task holds its turn: a transaction opened inside another one (on a
# second connection) must not wait for the turn its own task holds.
_holding_turn: contextvars.ContextVar[bool] = contextvars.ContextVar("holding_turn", default=False)


@asynccontextmanager
async def write_turn(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """This process's turn to write, on SQLite; nothing to wait for on PostgreSQL."""
    bind = sessionmaker.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite" or _holding_turn.get():
        yield
        return
    lock = _SQLITE_WRITE_TURNS.get(sessionmaker)
    if lock is None:
        lock = _SQLITE_WRITE_TURNS[sessionmaker] = asyncio.Lock()
    async with lock:
        token = _holding_turn.set(True)
        try:
            yield
        finally:
            _holding_turn.reset(token)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed together, or not at all.

    The commit or rollback at its end runs to completion even if the task is cancelled
    meanwhile (its client went): cut half way, it left the connection to be discarded,
    with an error in the log ("Exception during reset"), and whether the work was
    committed depended on the moment.
    """
    async with write_turn(sessionmaker):
        lent = _lent.get()
        # Chosen and taken with no await between: two tasks never share it at once.
        opened = lent.session() if lent is not None and lent.serves(sessionmaker) else None
        async with opened or sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await completed(session.rollback())
                raise
            await completed(session.commit())


class LentConnection:
    """One pooled connection that the transactions of one piece of work take turns on
    (`lending`): checked out (and pre-pinged) at the first of them, given back when the
    work ends or its time is up, whichever comes first."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self._sessionmaker = sessionmaker
        self._engine: AsyncEngine = sessionmaker.kw["bind"]
        self._connection: AsyncConnection | None = None
        self._in_use = False
        self._over = False
        self._giving_back: asyncio.Task[None] | None = None

    def serves(self, sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
        """Free now, for a transaction on the same database, and not broken (a connection
        that a database restart cut is invalidated: the pool's fresh ones take over)."""
        if self._over or self._in_use or sessionmaker.kw.get("bind") is not self._engine:
            return False
        return self._connection is None or not self._connection.invalidated

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        self._in_use = True  # before any await: see transaction()
        try:
            if self._connection is None:
                self._connection = await self._engine.connect()
            # Bound to a connection outside a transaction, the session begins one on it
            # and commits it (or rolls it back); the connection stays open for the next.
            async with self._sessionmaker(bind=self._connection) as session:
                yield session
        finally:
            self._in_use = False
            if self._over:
                await self._give_back()

    def expire(self) -> None:
        """Time is up: no more transactions on it, and back to the pool once free."""
        self._over = True
        if not self._in_use and self._connection is not None and self._giving_back is None:
            self._giving_back = asyncio.ensure_future(self._give_back())

    async def end(self) -> None:
        self.expire()
        if self._giving_back is not None:
            await self._giving_back
        elif not self._in_use:
            await self._give_back()

    async def _give_back(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await completed(connection.close())
            except Exception as exc:  # a broken one is discarded by the pool all the same
                log.warning("could not give a lent connection back: %r", exc)


_lent: contextvars.ContextVar[LentConnection | None] = contextvars.ContextVar(
    "lent_connection", default=None
)


@asynccontextmanager
async def lending(
    sessionmaker: async_sessionmaker[AsyncSession], *, for_seconds: float
) -> AsyncIterator[None]:
    """For the block, at most `for_seconds`, the transactions (`transaction()`) of this
    asyncio task and those it starts take turns on one connection: one pool checkout,
    and so one pre-ping (three round trips on asyncpg), instead of one for each. One
    that finds it in use, or the time up, takes a pooled connection as usual."""
    lent = LentConnection(sessionmaker)
    token = _lent.set(lent)
    timer = asyncio.get_running_loop().call_later(for_seconds, lent.expire)
    try:
        yield
    finally:
        timer.cancel()
        _lent.reset(token)
        await lent.end()


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Runs an UPDATE or DELETE and says how many rows it changed: for a guarded write
    (`WHERE state = 'PENDING'`), whether its guard held."""
    result = await session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount or 0)
