from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.schema.pagination import After, First
from kai.schema.user import Role, User, UserConnection, UserEdge, UserFilter
from kai.security.principal import Principal
from kai.services.user import UserFilter as UserFilterValue


async def _authorize_change(info: Info, user_id: str) -> Principal:
    """`user.manage` on `user_id`, never on oneself (K4): a refusal is audited as denied."""
    principal = await info.context.principal()
    target = await info.context.loaders.user_by_id.load(user_id)
    return await info.context.authorize(
        "user.manage",
        resource=f"user:{user_id}",
        permitted=user_id != principal.user_id,
        found=target is not None,
    )


@strawberry.type
class UserQuery:
    @strawberry.field(description="ADMIN only. Every account, oldest first.")
    async def users(
        self,
        info: Info,
        filter: Annotated[
            UserFilter | None,
            strawberry.argument(description="Which accounts to list; null lists them all."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> UserConnection:
        await info.context.authorize("user.read")
        page = await info.context.services.users.page(
            filter=filter.value() if filter is not None else UserFilterValue(),
            first=first,
            after=after,
        )
        return UserConnection.of(page, UserEdge, User.from_row)


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="ADMIN only. Takes effect on the user's next request.")
    async def set_user_role(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The account to change; never the caller's own."),
        ],
        role: Annotated[
            Role,  # type: ignore[valid-type]
            strawberry.argument(description="Its new role."),
        ],
    ) -> User:
        actor = await _authorize_change(info, str(user_id))
        row = await info.context.services.users.set_role(
            actor=actor, user_id=str(user_id), role=role
        )
        return User.from_row(row)

    @strawberry.mutation(
        description=(
            "ADMIN only. Disabling revokes the user's sessions and API keys at once; "
            "enabling again brings none of them back."
        )
    )
    async def set_user_active(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The account to change; never the caller's own."),
        ],
        active: Annotated[
            bool,
            strawberry.argument(
                description="False disables the account at once; true enables it again."
            ),
        ],
    ) -> User:
        actor = await _authorize_change(info, str(user_id))
        row = await info.context.services.users.set_active(
            actor=actor, user_id=str(user_id), active=active
        )
        return User.from_row(row)
