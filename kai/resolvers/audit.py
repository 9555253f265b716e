from __future__ import annotations

import strawberry

from kai.context import Info
from kai.schema.audit import AuditConnection, AuditEdge, AuditEntry
from kai.schema.pagination import PageInfo


@strawberry.type
class AuditQuery:
    @strawberry.field(description="ADMIN only. Every permission check, newest first.")
    async def audit_log(
        self,
        info: Info,
        user_id: strawberry.ID | None = None,
        action: str | None = None,
        granted: bool | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> AuditConnection:
        await info.context.authorize("system.audit")
        page = await info.context.services.audit.list(
            user_id=str(user_id) if user_id is not None else None,
            action=action,
            granted=granted,
            first=first,
            after=after,
        )
        edges = [
            AuditEdge(cursor=cursor, node=AuditEntry.from_row(row))
            for row, cursor in zip(page.items, page.cursors, strict=True)
        ]
        return AuditConnection(
            edges=edges,
            page_info=PageInfo.of(page),
        )
