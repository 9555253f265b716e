"""The audit trail: one row per permission check, granted or denied (K5).

Rows are collected during a request and written in their own transaction when
the operation ends, so a denied check that fails the request (and rolls its
transaction back) is still recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.models.audit import RESOURCE_MAX_LENGTH, AuditEntry
from kai.models.base import utcnow
from kai.security.principal import Principal

log = logging.getLogger(__name__)

# SQLite has one writer at a time, and a connection that finds the database locked
# sleeps in growing steps (up to 100 ms) before it tries again. Every list query writes
# audit rows, so under concurrent requests these writes queued in those sleeps: with 8
# clients, p99 of a 100-agent list went from 0.3 s to 1.3 s (bench/http.py). On SQLite
# this process's audit writes therefore take turns on an asyncio lock, which hands over
# at once; PostgreSQL writes them concurrently. One lock per session maker (per app,
# per event loop).
_SQLITE_WRITE_TURNS: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def _write_turn(sessionmaker: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    bind = sessionmaker.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITE_TURNS.get(sessionmaker)
    if lock is None:
        lock = _SQLITE_WRITE_TURNS[sessionmaker] = asyncio.Lock()
    return lock


class Auditor:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], request_id: str | None):
        self._sessionmaker = sessionmaker
        self._request_id = request_id
        self._pending: list[dict[str, object]] = []

    def record(
        self, principal: Principal | None, action: str, resource: str | None, granted: bool
    ) -> None:
        self._pending.append(
            {
                "user_id": principal.user_id if principal else None,
                "api_key_id": principal.api_key_id if principal else None,
                "action": action,
                # An overlong id from the caller must not make the row unwritable.
                "resource": resource[:RESOURCE_MAX_LENGTH] if resource else resource,
                "granted": granted,
                "request_id": self._request_id,
                "timestamp": utcnow(),
            }
        )

    async def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        turn = _write_turn(self._sessionmaker)
        try:
            async with (
                turn or contextlib.nullcontext(),
                self._sessionmaker() as session,
                session.begin(),
            ):
                await session.execute(insert(AuditEntry), rows)
        except Exception:
            # Losing the trail silently would defeat it: say so loudly.
            log.exception("could not write %d audit rows", len(rows))
            raise
