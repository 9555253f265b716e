from __future__ import annotations

from datetime import datetime

import strawberry

from kai.schema.user import User


@strawberry.type(description="Tokens of a new or refreshed session.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; short-lived."
    )
    refresh_token: str = strawberry.field(
        description="Spend once with refreshToken for a new pair; a second use revokes the session."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires.")
    user: User = strawberry.field(description="The signed-in user.")


@strawberry.type(description="The caller's session, or the API key it authenticated with.")
class Session:
    id: strawberry.ID = strawberry.field(description="Session id (or API key id).")
    user: User = strawberry.field(description="Whose session it is.")
    created_at: datetime = strawberry.field(description="When it began.")
    expires_at: datetime = strawberry.field(
        description="Its absolute end; an idle session ends earlier."
    )
    permissions: list[str] = strawberry.field(
        description=(
            "Effective permissions of this session (role matrix, narrowed by an API key's scopes)."
        )
    )


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="Sign-in address.")
    password: str = strawberry.field(
        description="8 to 128 characters; the most common passwords are refused."
    )
    display_name: str | None = strawberry.field(default=None, description="Up to 100 characters.")


@strawberry.input(description="Email and password.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in address.")
    password: str = strawberry.field(description="The account's password.")
