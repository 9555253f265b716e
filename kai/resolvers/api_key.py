from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.models.base import utcnow
from kai.schema.api_key import ApiKey, ApiKeyConnection, ApiKeyCreated, ApiKeyEdge, ApiKeyInput
from kai.schema.pagination import After, First


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="The caller's API keys, newest first.")
    async def api_keys(
        self,
        info: Info,
        include_revoked: Annotated[
            bool | None,
            strawberry.argument(description="Also the revoked keys (false or null: not)."),
        ] = False,
        first: First = 50,
        after: After = None,
    ) -> ApiKeyConnection:
        principal = await info.context.authorize("apikey.manage")
        page = await info.context.services.api_keys.page(
            principal=principal, include_revoked=bool(include_revoked), first=first, after=after
        )
        now = utcnow()
        return ApiKeyConnection.of(page, ApiKeyEdge, lambda row: ApiKey.from_row(row, now=now))


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="A new API key, no wider than the caller's own rights.")
    async def create_api_key(
        self,
        info: Info,
        input: Annotated[
            ApiKeyInput,
            strawberry.argument(description="Its name, expiry and the limits of its rights."),
        ],
    ) -> ApiKeyCreated:
        principal = await info.context.authorize("apikey.manage")
        created = await info.context.services.api_keys.create(
            principal=principal,
            name=input.name,
            expires_at=input.expires_at,
            permissions=input.permissions,
            agent_ids=[str(a) for a in input.agent_ids] if input.agent_ids is not None else None,
        )
        return ApiKeyCreated(
            api_key=ApiKey.from_row(created.api_key, now=utcnow()), secret=created.secret
        )

    @strawberry.mutation(description="Stops the key at once; revoking twice is harmless.")
    async def revoke_api_key(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The key's id (ApiKey.id, not its secret)."),
        ],
    ) -> ApiKey:
        api_keys = info.context.services.api_keys
        existing = await api_keys.get(key_id=str(id))
        await info.context.authorize(
            "apikey.manage",
            resource=f"apikey:{id}",
            owner_id=existing.user_id if existing else None,
            found=existing is not None,
        )
        row = await api_keys.revoke(key_id=str(id))
        return ApiKey.from_row(row, now=utcnow())
