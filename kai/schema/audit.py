from __future__ import annotations

from datetime import datetime

import strawberry

from kai.context import Info
from kai.models.audit import AuditEntry as AuditRow
from kai.schema.node import Node
from kai.schema.pagination import Connection, Edge
from kai.schema.user import User


@strawberry.type(description="One permission check, granted or denied.")
class AuditEntry(Node):
    id: strawberry.ID = strawberry.field(description="Opaque entry id.")
    action: str = strawberry.field(description="The permission checked, e.g. agent.delete")
    resource: str | None = strawberry.field(description="The resource, e.g. agent:<id>")
    granted: bool = strawberry.field(description="Whether the check passed.")
    timestamp: datetime = strawberry.field(description="When the check ran.")
    request_id: str | None = strawberry.field(
        description="The request that ran it (the X-Request-ID response header)."
    )
    user_id: strawberry.Private[str | None]

    @strawberry.field(description="Who was checked; null for a user since deleted.")
    async def user(self, info: Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.user_id)
        return User.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=strawberry.ID(f"aud_{row.id}"),
            action=row.action,
            resource=row.resource,
            granted=row.granted,
            timestamp=row.timestamp,
            request_id=row.request_id,
            user_id=row.user_id,
        )


@strawberry.type(description="An audit entry in a page.")
class AuditEdge(Edge[AuditEntry]):
    pass


@strawberry.type(description="A page of the audit log, newest first.")
class AuditConnection(Connection[AuditEdge]):
    pass
