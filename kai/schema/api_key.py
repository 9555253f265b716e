from __future__ import annotations

from datetime import datetime

import strawberry

from kai.models.api_key import ApiKey as ApiKeyRow
from kai.schema.node import Node
from kai.schema.pagination import CountedConnection, Edge


@strawberry.type(description="A credential for programs; works as a Bearer token.")
class ApiKey(Node):
    id: strawberry.ID = strawberry.field(description="Opaque key id (not the secret).")
    name: str = strawberry.field(description="What the key is for.")
    prefix: str = strawberry.field(
        description="The first characters of the key, for recognising it; never the secret."
    )
    permissions: list[str] = strawberry.field(
        description=(
            "Permissions the key is limited to: `*` means all of the owner's (keys made "
            "without `permissions`); empty means none."
        )
    )
    agent_ids: list[strawberry.ID] | None = strawberry.field(
        description="Agents the key is limited to; null means any of the owner's agents."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime | None = strawberry.field(description="When it stops working.")
    last_used_at: datetime | None = strawberry.field(
        description="Last authenticated use, to the minute."
    )
    active: bool = strawberry.field(description="Neither revoked nor expired.")

    @classmethod
    def from_row(cls, row: ApiKeyRow, *, now: datetime) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            prefix=row.prefix,
            permissions=list(row.permissions),
            agent_ids=[strawberry.ID(a) for a in row.agent_ids]
            if row.agent_ids is not None
            else None,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            active=row.revoked_at is None and (row.expires_at is None or row.expires_at > now),
        )


@strawberry.type(description="A new API key and, this once, its secret.")
class ApiKeyCreated:
    api_key: ApiKey = strawberry.field(description="The key's public record.")
    secret: str = strawberry.field(
        description="The key itself. Shown exactly once; only a hash is stored."
    )


@strawberry.input(description="A new API key; it can only narrow its maker's rights.")
class ApiKeyInput:
    name: str = strawberry.field(description="What the key is for (1 to 100 characters).")
    expires_at: datetime | None = strawberry.field(
        default=None, description="Defaults to KAI_API_KEY_TTL_DAYS from now."
    )
    permissions: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Patterns like agent.read or agent.*, each within the maker's own rights. Left "
            "out: all of the maker's (shown as `*`); an empty list: no permission at all."
        ),
    )
    agent_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Limit the key to these agents."
    )


@strawberry.type(description="An API key in a page.")
class ApiKeyEdge(Edge[ApiKey]):
    pass


@strawberry.type(description="A page of API keys, newest first.")
class ApiKeyConnection(CountedConnection[ApiKeyEdge]):
    pass
