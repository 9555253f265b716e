from __future__ import annotations

from datetime import datetime

import strawberry

from kai.models.user import Role as RoleValue
from kai.models.user import User as UserRow
from kai.schema.node import Node

Role = strawberry.enum(
    RoleValue,
    name="Role",
    description="What a user may do by default; see the permission matrix in the README.",
)


@strawberry.type(description="An account.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="Opaque user id.")
    email: str = strawberry.field(description="Sign-in address, lower-cased.")
    display_name: str | None = strawberry.field(description="Name shown to others.")
    role: Role = strawberry.field(description="The role, read fresh on every request.")  # type: ignore[valid-type]
    active: bool = strawberry.field(
        description="A disabled account cannot sign in or use its keys."
    )
    created_at: datetime = strawberry.field(description="When the account was registered.")

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(row.id),
            email=row.email,
            display_name=row.display_name,
            role=row.role,
            active=row.is_active,
            created_at=row.created_at,
        )
