"""Bearer credentials -> Principal. Access tokens and API keys alike, checked on every request."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.config import Settings
from kai.db import transaction
from kai.errors import Unauthenticated
from kai.models.api_key import ApiKey
from kai.models.base import utcnow
from kai.models.session import AuthSession
from kai.models.user import User
from kai.security.permissions import Grant, PermissionMatrix
from kai.security.principal import Principal
from kai.security.secrets import digest, looks_like_api_key
from kai.security.tokens import TokenService, TokenType

# Writing "last used" on every request would make every read a write; a minute
# of precision is plenty for idle timeouts and for showing keys' last use.
TOUCH_INTERVAL = timedelta(seconds=60)


class Authenticator:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tokens: TokenService,
        matrix: PermissionMatrix,
        settings: Settings,
    ):
        self._sessionmaker = sessionmaker
        self._tokens = tokens
        self._matrix = matrix
        self._idle = timedelta(seconds=settings.session_idle_timeout_seconds)

    async def authenticate(self, credential: str) -> Principal:
        principal, _ = await self.authenticate_user(credential)
        return principal

    async def authenticate_user(self, credential: str) -> tuple[Principal, User]:
        """The principal, and the user's row as read for it: a request that shows the
        caller (`me`, an agent's `owner`) need not read it again."""
        if looks_like_api_key(credential):
            return await self._from_api_key(credential)
        return await self._from_access_token(credential)

    async def _from_access_token(self, token: str) -> tuple[Principal, User]:
        claims = self._tokens.verify(token, token_type=TokenType.ACCESS)
        now = utcnow()
        async with self._sessionmaker() as db:
            row = (
                await db.execute(
                    select(AuthSession, User)
                    .join(User, col(User.id) == AuthSession.user_id)
                    .where(col(AuthSession.id) == claims.session_id)
                )
            ).first()
        if row is None:
            raise Unauthenticated()
        auth_session, user = row
        # The role and the active flag are read now, not taken from the token,
        # so a demotion or a disabled account counts on the next request (S10).
        if not self._live(auth_session, now) or auth_session.user_id != claims.user_id:
            raise Unauthenticated()
        if not user.is_active:
            raise Unauthenticated()
        if now - auth_session.last_used_at > TOUCH_INTERVAL:
            await self._touch(AuthSession, auth_session.id)
        principal = Principal(
            user_id=user.id,
            email=user.email,
            role=user.role,
            grant=Grant(self._matrix.patterns(user.role)),
            session_id=auth_session.id,
        )
        return principal, user

    async def _from_api_key(self, key: str) -> tuple[Principal, User]:
        now = utcnow()
        async with self._sessionmaker() as db:
            row = (
                await db.execute(
                    select(ApiKey, User)
                    .join(User, col(User.id) == ApiKey.user_id)
                    .where(col(ApiKey.key_hash) == digest(key))
                )
            ).first()
        # Unknown, revoked and expired keys fail alike (K2).
        if row is None:
            raise Unauthenticated()
        api_key, user = row
        if api_key.revoked_at is not None or not user.is_active:
            raise Unauthenticated()
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise Unauthenticated()
        if api_key.last_used_at is None or now - api_key.last_used_at > TOUCH_INTERVAL:
            await self._touch(ApiKey, api_key.id)
        principal = Principal(
            user_id=user.id,
            email=user.email,
            role=user.role,
            grant=Grant(self._matrix.patterns(user.role), api_key.permissions),
            api_key_id=api_key.id,
            agent_ids=frozenset(api_key.agent_ids) if api_key.agent_ids is not None else None,
        )
        return principal, user

    def _live(self, auth_session: AuthSession, now: datetime) -> bool:
        return (
            auth_session.revoked_at is None
            and auth_session.expires_at > now
            and now - auth_session.last_used_at < self._idle
        )

    async def _touch(self, table: type[AuthSession] | type[ApiKey], row_id: str) -> None:
        # A write like any other: on SQLite it takes this process's write turn (kai.db), or
        # it would hold the database's write lock beside the turn's holder, unseen by it.
        async with transaction(self._sessionmaker) as db:
            await db.execute(
                update(table).where(col(table.id) == row_id).values(last_used_at=utcnow())
            )
