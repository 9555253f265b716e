"""The audit trail: one row per permission check, granted or denied (K5).

Rows are collected during a request and written in their own transaction when
the operation ends, so a denied check that fails the request (and rolls its
transaction back) is still recorded. A request that writes anyway (enqueueTask) may
take the rows pending by then into its own transaction instead (`sharing`), which
saves them one; should that transaction not commit, they are written on their own
as usual.

A field checked on every item of a list (each agent's `tasks` in `agents { tasks }`)
is one check of the list, not one per item: its granted checks fold into one row
(K7), whose resource names the first item and how many more; a query over 60 agents
wrote 121 rows. Denied checks are never folded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.db import transaction
from kai.models.audit import RESOURCE_MAX_LENGTH, AuditEntry
from kai.models.base import utcnow
from kai.security.principal import Principal

log = logging.getLogger(__name__)


class Auditor:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], request_id: str | None):
        self._sessionmaker = sessionmaker
        self._request_id = request_id
        self._pending: list[dict[str, object]] = []
        # A folded row's place in _pending, by (user, action, fold), and how many more
        # items its check covered.
        self._folded: dict[tuple[str | None, str, str], int] = {}
        self._more: dict[int, int] = {}
        # Rows taken into a request's transaction (`sharing`) that did not commit.
        self._unwritten: list[dict[str, object]] = []

    def record(
        self,
        principal: Principal | None,
        action: str,
        resource: str | None,
        granted: bool,
        *,
        fold: str | None = None,
    ) -> None:
        """`fold`: the list field this check repeats for each item of (its path without
        the items' indices); granted checks with the same fold make one row."""
        key = (principal.user_id if principal else None, action, fold or "")
        if granted and fold is not None and key in self._folded:
            place = self._folded[key]
            self._more[place] = self._more.get(place, 0) + 1
            return
        if granted and fold is not None:
            self._folded[key] = len(self._pending)
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

    def _take(self) -> list[dict[str, object]]:
        """The rows to write, as stored; the auditor holds them no more."""
        rows = self._unwritten + [
            _folded(row, self._more.get(place, 0)) for place, row in enumerate(self._pending)
        ]
        self._unwritten, self._pending, self._folded, self._more = [], [], {}, {}
        return rows

    @asynccontextmanager
    async def sharing(self) -> AsyncIterator[Callable[[AsyncSession], Awaitable[None]]]:
        """A function that writes the rows pending now in the caller's transaction (its
        session); unless that transaction commits before the block ends, they stay for
        flush() to write, in their own transaction as always."""
        rows = self._take()
        committed = False

        def on_commit(_session: object) -> None:
            nonlocal committed
            committed = True

        async def write(session: AsyncSession) -> None:
            if rows:
                await session.execute(insert(AuditEntry), rows)
                event.listen(session.sync_session, "after_commit", on_commit, once=True)

        try:
            yield write
        finally:
            if not committed:
                self._unwritten = rows + self._unwritten

    async def flush(self) -> None:
        rows = self._take()
        if not rows:
            return
        try:
            async with transaction(self._sessionmaker) as session:
                await session.execute(insert(AuditEntry), rows)
        except Exception:
            # Losing the trail silently would defeat it: say so loudly.
            log.exception("could not write %d audit rows", len(rows))
            raise


def _folded(row: dict[str, object], more: int) -> dict[str, object]:
    """The row as stored: a folded one says how many more items its check covered."""
    if more:
        suffix = f" (+{more} more in this list)"
        resource = str(row["resource"] or "")[: RESOURCE_MAX_LENGTH - len(suffix)]
        row["resource"] = resource + suffix
    return row
