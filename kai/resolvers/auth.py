from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.errors import Unauthenticated
from kai.models.api_key import ApiKey as ApiKeyRow
from kai.models.session import AuthSession
from kai.schema.auth import AuthPayload, LoginInput, RegisterInput, Session
from kai.schema.user import User
from kai.services.auth import ClientInfo, IssuedTokens
from kai.services.validation import canonical_email


def _payload(issued: IssuedTokens) -> AuthPayload:
    return AuthPayload(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=issued.expires_at,
        user=User.from_row(issued.user),
    )


def _client(info: Info) -> ClientInfo:
    return ClientInfo(ip_address=info.context.client_ip, user_agent=info.context.user_agent)


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in user; null when unauthenticated.")
    async def me(self, info: Info) -> User | None:
        principal = await info.context.optional_principal()
        if principal is None:
            return None
        row = await info.context.loaders.user_by_id.load(principal.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The current session (UNAUTHENTICATED without one).")
    async def session(self, info: Info) -> Session:
        context = info.context
        principal = await context.principal()
        async with context.services.sessionmaker() as db:
            record: AuthSession | ApiKeyRow | None = (
                await db.get(AuthSession, principal.session_id)
                if principal.session_id
                else await db.get(ApiKeyRow, principal.api_key_id)
            )
        user = await context.loaders.user_by_id.load(principal.user_id)
        if record is None or user is None or record.expires_at is None:
            raise Unauthenticated()
        return Session(
            id=strawberry.ID(record.id),
            user=User.from_row(user),
            created_at=record.created_at,
            expires_at=record.expires_at,
            permissions=principal.grant.effective(),
        )


@strawberry.type
class AuthMutation:
    # The CONFLICT below is the documented exception of docs/security.md A4 (registration
    # does not reveal accounts): register returns tokens, so it cannot answer the same for
    # a taken address as for a new one.
    @strawberry.mutation(
        description=(
            "The first user ever registered becomes ADMIN. An email already registered answers "
            "CONFLICT, so unlike requestMagicLink this mutation reveals whether an address has "
            "an account (it returns tokens, so it cannot answer the same as for a new address)."
        )
    )
    async def register(
        self,
        info: Info,
        input: Annotated[
            RegisterInput,
            strawberry.argument(description="The new account's email, password and name."),
        ],
    ) -> AuthPayload:
        await info.context.throttle("register", account=canonical_email(input.email))
        issued = await info.context.services.auth.register(
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            client=_client(info),
        )
        return _payload(issued)

    @strawberry.mutation(description="A new session from email and password.")
    async def login(
        self,
        info: Info,
        input: Annotated[
            LoginInput, strawberry.argument(description="The account's email and password.")
        ],
    ) -> AuthPayload:
        await info.context.throttle("login", account=canonical_email(input.email))
        issued = await info.context.services.auth.login(
            email=input.email, password=input.password, client=_client(info)
        )
        return _payload(issued)

    @strawberry.mutation(
        description=(
            "Revokes the current session: its access and refresh tokens stop working at once. "
            "False when the caller used an API key (revoke the key instead)."
        )
    )
    async def logout(self, info: Info) -> bool:
        principal = await info.context.principal()
        if principal.session_id is None:
            return False
        return await info.context.services.auth.logout(session_id=principal.session_id)

    @strawberry.mutation(
        description=(
            "Rotates: the old refresh token is spent; "
            "presenting a spent one revokes the whole session."
        )
    )
    async def refresh_token(
        self,
        info: Info,
        refresh_token: Annotated[
            str,
            strawberry.argument(
                description="The session's current refresh token (AuthPayload.refreshToken)."
            ),
        ],
    ) -> AuthPayload:
        await info.context.throttle("refreshToken")
        issued = await info.context.services.auth.refresh(refresh_token=refresh_token)
        return _payload(issued)

    @strawberry.mutation(
        description="Always true, whether or not the email is known (no account enumeration)."
    )
    async def request_magic_link(
        self,
        info: Info,
        email: Annotated[
            str,
            strawberry.argument(
                description=(
                    "Where to send the sign-in link; it is sent only if this is the address "
                    "of an active account."
                )
            ),
        ],
    ) -> bool:
        await info.context.throttle("requestMagicLink", account=canonical_email(email))
        await info.context.services.auth.request_magic_link(email=email)
        return True

    @strawberry.mutation(description="Single use, short-lived.")
    async def verify_magic_link(
        self,
        info: Info,
        token: Annotated[
            str,
            strawberry.argument(description="The token from the sign-in link's `token` parameter."),
        ],
    ) -> AuthPayload:
        await info.context.throttle("verifyMagicLink")
        issued = await info.context.services.auth.verify_magic_link(
            token=token, client=_client(info)
        )
        return _payload(issued)
