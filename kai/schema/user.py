from __future__ import annotations

from datetime import datetime

import strawberry

from kai.models.user import Role as RoleValue
from kai.models.user import User as UserRow
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.pagination import CountedConnection, Edge
from kai.services.user import UserFilter as UserFilterValue

# The default permissions of each role: kai.security.permissions.DEFAULT_MATRIX.
Role = described_enum(
    RoleValue,
    name="Role",
    description=(
        "What a user may do; the server may change the defaults below, "
        "and session.permissions lists what a session actually holds."
    ),
    values={
        "USER": "By default: creates and uses their own agents, tasks, files and API keys.",
        "DEVELOPER": "By default: what USER may, and also deletes agents and reads configuration.",
        "ADMIN": (
            "By default: everything, on every account's objects, including managing users "
            "and reading the audit log."
        ),
    },
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


@strawberry.type(description="An account in a page.")
class UserEdge(Edge[User]):
    pass


@strawberry.type(description="A page of accounts, oldest first.")
class UserConnection(CountedConnection[UserEdge]):
    pass


@strawberry.input(description="Which accounts to list; every condition given must hold.")
class UserFilter:
    roles: list[Role] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only accounts with one of these roles."
    )
    active: bool | None = strawberry.field(
        default=None, description="Only enabled (true) or disabled (false) accounts."
    )
    email_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the email address."
    )

    def value(self) -> UserFilterValue:
        return UserFilterValue(
            roles=self.roles, active=self.active, email_contains=self.email_contains
        )
