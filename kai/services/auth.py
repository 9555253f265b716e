"""Accounts and sessions: register, login, refresh with reuse detection, logout, magic links."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.config import Settings
from kai.db import changed_rows, transaction
from kai.errors import Conflict, Unauthenticated
from kai.models.base import utcnow
from kai.models.magic_link import MagicLink
from kai.models.session import AuthSession
from kai.models.user import Role, User
from kai.security import passwords
from kai.security.secrets import digest, random_token
from kai.security.tokens import TokenService, TokenType
from kai.services.mail import BackgroundMailer
from kai.services.validation import bounded_text, canonical_email, normalise_email

log = logging.getLogger(__name__)

# One message for every credential failure, so none tells which part was wrong (A3, K2).
BAD_CREDENTIALS = "Invalid email or password."


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user: User


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip_address: str | None = None
    user_agent: str | None = None


class AuthService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tokens: TokenService,
        settings: Settings,
        mailer: BackgroundMailer,
    ):
        self._sessionmaker = sessionmaker
        self._tokens = tokens
        self._settings = settings
        self._mailer = mailer

    async def register(
        self, *, email: str, password: str, display_name: str | None, client: ClientInfo
    ) -> IssuedTokens:
        email = normalise_email(email, field="input.email")
        passwords.check_policy(password, field="input.password")
        display_name = bounded_text(display_name, field="input.displayName", max_length=100)
        password_hash = await passwords.hash_password(password)
        try:
            async with transaction(self._sessionmaker) as session:
                await _serialise_registrations(session)
                user = User(email=email, display_name=display_name, password_hash=password_hash)
                session.add(user)
                await session.flush()
                # The insert holds the write lock (SQLite) or the registration lock
                # (PostgreSQL), so this count is exact: only the very first user
                # ever becomes ADMIN, even when two register at once.
                if await session.scalar(select(func.count()).select_from(User)) == 1:
                    user.role = Role.ADMIN
                return await self._open_session(session, user, client)
        except IntegrityError as exc:
            # Documented in the schema: a taken email is CONFLICT (docs/security.md A4
            # allows it when documented; register must return tokens, so it cannot
            # answer the same as for a new address).
            raise Conflict(
                "An account with this email already exists.", field="input.email"
            ) from exc

    async def login(self, *, email: str, password: str, client: ClientInfo) -> IssuedTokens:
        email = canonical_email(email)
        async with self._sessionmaker() as session:
            user = await session.scalar(select(User).where(col(User.email) == email))
        matches, new_hash = await passwords.verify_password(
            user.password_hash if user else None, password
        )
        if user is None or not matches or not user.is_active:
            raise Unauthenticated(BAD_CREDENTIALS)
        async with transaction(self._sessionmaker) as session:
            user = await session.merge(user)
            if new_hash:
                user.password_hash = new_hash
            return await self._open_session(session, user, client)

    async def refresh(self, *, refresh_token: str) -> IssuedTokens:
        claims = self._tokens.verify(refresh_token, token_type=TokenType.REFRESH)
        now = utcnow()
        new_jti = uuid.uuid4().hex
        async with transaction(self._sessionmaker) as session:
            rotated = await changed_rows(
                session,
                update(AuthSession)
                .where(
                    col(AuthSession.id) == claims.session_id,
                    col(AuthSession.refresh_jti) == claims.jti,
                    col(AuthSession.revoked_at).is_(None),
                    col(AuthSession.expires_at) > now,
                    col(AuthSession.last_used_at) > now - self._idle,
                )
                .values(refresh_jti=new_jti, last_used_at=now),
            )
            if rotated == 1:
                auth_session = await session.get_one(AuthSession, claims.session_id)
                user = await session.get(User, auth_session.user_id)
                if user is None or not user.is_active:
                    # A disabled account, not a replay: undo the rotation, keep the session.
                    raise Unauthenticated()
                return self._issue(user, auth_session, now=now, jti=new_jti)
        await self._revoke_on_reuse(claims.session_id, claims.jti)
        raise Unauthenticated()

    async def _revoke_on_reuse(self, session_id: str, jti: str) -> None:
        # A signed refresh token of a live session that is no longer the current
        # one was spent before: someone replays it. End the whole session (S8).
        async with transaction(self._sessionmaker) as session:
            revoked = await changed_rows(
                session,
                update(AuthSession)
                .where(
                    col(AuthSession.id) == session_id,
                    col(AuthSession.refresh_jti) != jti,
                    col(AuthSession.revoked_at).is_(None),
                )
                .values(revoked_at=utcnow(), revoked_reason="refresh_token_reuse"),
            )
        if revoked:
            log.warning("refresh token replayed: session %s revoked", session_id)

    async def logout(self, *, session_id: str) -> bool:
        return await self.revoke_session(session_id=session_id, reason="logout")

    async def revoke_session(self, *, session_id: str, reason: str) -> bool:
        async with transaction(self._sessionmaker) as session:
            result = await changed_rows(
                session,
                update(AuthSession)
                .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
                .values(revoked_at=utcnow(), revoked_reason=reason),
            )
        return bool(result)

    async def request_magic_link(self, *, email: str) -> None:
        email = normalise_email(email, field="email")
        token = random_token(32)
        now = utcnow()
        async with transaction(self._sessionmaker) as session:
            user = await session.scalar(select(User).where(col(User.email) == email))
            if user is None or not user.is_active:
                return
            session.add(
                MagicLink(
                    user_id=user.id,
                    token_hash=digest(token),
                    expires_at=now + timedelta(seconds=self._settings.magic_link_ttl_seconds),
                )
            )
        self._mailer.send_later(
            to=email, subject="Your kAI sign-in link", body=self._magic_link_body(token)
        )

    def magic_link_url(self, token: str) -> str:
        # From the configured public URL, never the request's Host header (A7).
        base = self._settings.public_url.rstrip("/")
        return f"{base}{self._settings.magic_link_path}?{urlencode({'token': token})}"

    def _magic_link_body(self, token: str) -> str:
        minutes = self._settings.magic_link_ttl_seconds // 60
        return (
            f"Sign in to kAI with this link (valid {minutes} minutes, once):\n\n"
            f"{self.magic_link_url(token)}\n\n"
            "If you did not ask for it, ignore this message.\n"
        )

    async def verify_magic_link(self, *, token: str, client: ClientInfo) -> IssuedTokens:
        now = utcnow()
        token_hash = digest(token)
        async with transaction(self._sessionmaker) as session:
            # One conditional UPDATE consumes the link: of two concurrent
            # verifications exactly one matches the row (A6).
            consumed = await changed_rows(
                session,
                update(MagicLink)
                .where(
                    col(MagicLink.token_hash) == token_hash,
                    col(MagicLink.used_at).is_(None),
                    col(MagicLink.expires_at) > now,
                )
                .values(used_at=now),
            )
            if consumed != 1:
                raise Unauthenticated("This sign-in link is invalid, used or expired.")
            link = await session.scalar(
                select(MagicLink).where(col(MagicLink.token_hash) == token_hash)
            )
            user = await session.get(User, link.user_id) if link else None
            if user is None or not user.is_active:
                raise Unauthenticated("This sign-in link is invalid, used or expired.")
            return await self._open_session(session, user, client)

    @property
    def _idle(self) -> timedelta:
        return timedelta(seconds=self._settings.session_idle_timeout_seconds)

    async def _open_session(
        self, session: AsyncSession, user: User, client: ClientInfo
    ) -> IssuedTokens:
        # A new session for every sign-in (S9).
        now = utcnow()
        jti = uuid.uuid4().hex
        auth_session = AuthSession(
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self._settings.session_max_lifetime_seconds),
            refresh_jti=jti,
            ip_address=client.ip_address,
            user_agent=(client.user_agent or "")[:255] or None,
        )
        session.add(auth_session)
        await session.flush()
        return self._issue(user, auth_session, now=now, jti=jti)

    def _issue(
        self, user: User, auth_session: AuthSession, *, now: datetime, jti: str
    ) -> IssuedTokens:
        access_expires = min(
            now + timedelta(seconds=self._settings.access_token_ttl_seconds),
            auth_session.expires_at,
        )
        refresh_expires = min(now + self._idle, auth_session.expires_at)
        access = self._tokens.issue(
            token_type=TokenType.ACCESS,
            user_id=user.id,
            session_id=auth_session.id,
            now=now,
            expires_at=access_expires,
        )
        refresh = self._tokens.issue(
            token_type=TokenType.REFRESH,
            user_id=user.id,
            session_id=auth_session.id,
            now=now,
            expires_at=refresh_expires,
            jti=jti,
        )
        return IssuedTokens(access, refresh, access_expires, user)


async def _serialise_registrations(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('kai.register'))"))
