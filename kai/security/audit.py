"""The audit trail: one row per permission check, granted or denied (K5).

Rows are collected during a request and written in their own transaction when
the operation ends, so a denied check that fails the request (and rolls its
transaction back) is still recorded.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert
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
        try:
            async with transaction(self._sessionmaker) as session:
                await session.execute(insert(AuditEntry), rows)
        except Exception:
            # Losing the trail silently would defeat it: say so loudly.
            log.exception("could not write %d audit rows", len(rows))
            raise
