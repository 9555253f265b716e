"""Users as seen by admins: listing, roles, disabling; and the CLI's create-admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import transaction
from kai.errors import Conflict, Forbidden, NotFound
from kai.models.api_key import ApiKey
from kai.models.base import utcnow
from kai.models.session import AuthSession
from kai.models.user import Role, User
from kai.security import passwords
from kai.security.principal import Principal
from kai.services.pagination import Page, Pager, Sorting, few, fragment, ordering
from kai.services.validation import normalise_email

# Oldest first: the first account is the one that set the server up.
USERS_ORDER = ordering(
    "users",
    {"CREATED_AT": (col(User.created_at), "datetime")},
    col(User.id),
    Sorting(descending=False),
)


@dataclass(frozen=True, slots=True)
class UserFilter:
    """What `users(filter:)` keeps; None keeps all, an empty list none."""

    roles: Sequence[Role] | None = None
    active: bool | None = None
    email_contains: str | None = None


class UserService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], pager: Pager):
        self._sessionmaker = sessionmaker
        self._pager = pager

    async def page(self, *, filter: UserFilter, first: int | None, after: str | None) -> Page[User]:
        filters: list[ColumnElement[bool]] = []
        if (roles := few(filter.roles, field="filter.roles")) is not None:
            filters.append(col(User.role).in_(roles))
        if filter.active is not None:
            filters.append(col(User.is_active) == filter.active)
        if (email := fragment(filter.email_contains, field="filter.emailContains")) is not None:
            filters.append(col(User.email).icontains(email, autoescape=True))
        return await self._pager.fetch(
            self._sessionmaker, User, filters, USERS_ORDER, first=first, after=after
        )

    async def get(self, *, user_id: str) -> User | None:
        async with self._sessionmaker() as session:
            return await session.get(User, user_id)

    async def set_role(self, *, actor: Principal, user_id: str, role: Role) -> User:
        return await self._change(actor=actor, user_id=user_id, permission="user.manage", role=role)

    async def set_active(self, *, actor: Principal, user_id: str, active: bool) -> User:
        """Disabling also revokes every session and API key of the user, in the same
        transaction: re-enabling brings none of them back (the user signs in again). A
        credential that outlived a suspension would work for whoever took it meanwhile."""
        return await self._change(
            actor=actor,
            user_id=user_id,
            permission="user.manage",
            also=None if active else _revoke_credentials,
            is_active=active,
        )

    async def _change(
        self,
        *,
        actor: Principal,
        user_id: str,
        permission: str,
        also: Callable[[AsyncSession, str], Awaitable[None]] | None = None,
        **values: object,
    ) -> User:
        # Nobody changes their own role or status: no self-escalation, and the
        # last admin cannot lock everyone out by accident (K4).
        if user_id == actor.user_id:
            raise Forbidden(permission)
        async with transaction(self._sessionmaker) as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None:
                raise NotFound("User")
            for name, value in values.items():
                setattr(user, name, value)
            if also is not None:
                await also(session, user_id)
            return user

    async def create_admin(
        self, *, email: str, password: str, force: bool = False
    ) -> tuple[str, str, bool]:
        """(email, id, created) of a new ADMIN. An existing account is CONFLICT: an
        operator's typo must not take over someone's account; with `force` it is made an
        active ADMIN with this password, and its sessions are revoked (whoever held one
        signed in with the old password; its API keys stay, as the owner's automations)."""
        email = normalise_email(email, field="email")
        passwords.check_policy(password)
        password_hash = await passwords.hash_password(password)
        async with transaction(self._sessionmaker) as session:
            user = await session.scalar(select(User).where(col(User.email) == email))
            created = user is None
            if user is None:
                user = User(email=email)
                session.add(user)
            elif not force:
                raise Conflict(
                    f"{email} already has an account; it was left as it is "
                    "(--force makes it an active ADMIN with the new password)",
                    field="email",
                )
            else:
                await session.execute(
                    update(AuthSession)
                    .where(
                        col(AuthSession.user_id) == user.id,
                        col(AuthSession.revoked_at).is_(None),
                    )
                    .values(revoked_at=utcnow(), revoked_reason="password_reset")
                )
            user.role = Role.ADMIN
            user.is_active = True
            user.password_hash = password_hash
            return user.email, user.id, created


async def _revoke_credentials(session: AsyncSession, user_id: str) -> None:
    now = utcnow()
    await session.execute(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason="user_disabled")
    )
    await session.execute(
        update(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        .values(revoked_at=now)
    )
