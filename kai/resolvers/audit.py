from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.schema.audit import AuditConnection, AuditEdge, AuditEntry
from kai.schema.pagination import After, First


@strawberry.type
class AuditQuery:
    @strawberry.field(description="ADMIN only. Every permission check, newest first.")
    async def audit_log(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the checks of this user; null keeps all."),
        ] = None,
        action: Annotated[
            str | None,
            strawberry.argument(
                description="Only the checks of this exact permission, e.g. agent.delete; "
                "null keeps all."
            ),
        ] = None,
        granted: Annotated[
            bool | None,
            strawberry.argument(
                description="Only the granted (true) or the denied (false) checks; null keeps both."
            ),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> AuditConnection:
        await info.context.authorize("system.audit")
        page = await info.context.services.audit.list(
            user_id=str(user_id) if user_id is not None else None,
            action=action,
            granted=granted,
            first=first,
            after=after,
        )
        return AuditConnection.of(page, AuditEdge, AuditEntry.from_row)
