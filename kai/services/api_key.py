"""API keys: minted no wider than their maker (K4), shown once, stored as SHA-256 (K1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import transaction
from kai.errors import BadUserInput, Forbidden
from kai.models.agent import Agent
from kai.models.api_key import ApiKey
from kai.models.base import utcnow
from kai.security.permissions import is_valid_pattern
from kai.security.principal import Principal
from kai.security.secrets import digest, new_api_key
from kai.services.pagination import Page, Pager, Sorting, ordering
from kai.services.validation import bounded_text

PREFIX_LENGTH = 12
MAX_PERMISSIONS = 64
MAX_AGENT_IDS = 1000
API_KEYS_ORDER = ordering(
    "apiKeys", {"CREATED_AT": (col(ApiKey.created_at), "datetime")}, col(ApiKey.id), Sorting()
)


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    api_key: ApiKey
    secret: str


class ApiKeyService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        ttl_days: int,
        pager: Pager,
        max_ttl_days: int | None = None,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._ttl = timedelta(days=ttl_days)
        self._max_ttl = timedelta(days=max(max_ttl_days or ttl_days, ttl_days))

    async def create(
        self,
        *,
        principal: Principal,
        name: str,
        expires_at: datetime | None,
        permissions: Sequence[str] | None,
        agent_ids: Sequence[str] | None,
    ) -> CreatedApiKey:
        clean_name = bounded_text(name, field="input.name", max_length=100, required=True)
        now = utcnow()
        if expires_at is None:
            # Keys that never expire outlive the people who remember them.
            expires_at = now + self._ttl
        elif expires_at.tzinfo is None:
            raise BadUserInput("The expiry needs a timezone.", field="input.expiresAt")
        elif expires_at <= now:
            raise BadUserInput("The expiry must be in the future.", field="input.expiresAt")
        elif expires_at > now + self._max_ttl:
            raise BadUserInput(
                f"An API key lives at most {self._max_ttl.days} days.", field="input.expiresAt"
            )
        scopes = self._scopes(principal, permissions)
        agents = await self._agents(principal, agent_ids)
        secret = new_api_key()
        api_key = ApiKey(
            user_id=principal.user_id,
            name=clean_name or "",
            prefix=secret[:PREFIX_LENGTH],
            key_hash=digest(secret),
            permissions=scopes,
            agent_ids=agents,
            expires_at=expires_at,
        )
        async with transaction(self._sessionmaker) as session:
            session.add(api_key)
        return CreatedApiKey(api_key, secret)

    def _scopes(self, principal: Principal, permissions: Sequence[str] | None) -> list[str]:
        if permissions is None:
            # Omitted: all of the maker's; a key made with a narrowed key stays at least
            # as narrow as its maker. An empty list is a key with no permission (K7).
            narrowed = principal.grant.key_patterns
            return ["*"] if narrowed is None else list(narrowed)
        requested = sorted(set(permissions))
        if len(requested) > MAX_PERMISSIONS:
            raise BadUserInput(f"At most {MAX_PERMISSIONS} permissions.", field="input.permissions")
        for pattern in requested:
            if not is_valid_pattern(pattern):
                raise BadUserInput(f"Unknown permission: {pattern!r}.", field="input.permissions")
            if not principal.grant.covers(pattern):
                raise Forbidden(pattern)
        return requested

    async def _agents(
        self, principal: Principal, agent_ids: Sequence[str] | None
    ) -> list[str] | None:
        if agent_ids is None:
            return sorted(principal.agent_ids) if principal.agent_ids is not None else None
        wanted = sorted(set(agent_ids))
        if len(wanted) > MAX_AGENT_IDS:
            raise BadUserInput(f"At most {MAX_AGENT_IDS} agents.", field="input.agentIds")
        if principal.agent_ids is not None and not set(wanted) <= principal.agent_ids:
            raise Forbidden("apikey.manage")
        # Only the maker's own agents: a key naming others' agents would leak
        # whether they exist, and could never use them anyway.
        query = select(col(Agent.id)).where(col(Agent.id).in_(wanted))
        if not principal.is_admin:
            query = query.where(col(Agent.owner_id) == principal.user_id)
        async with self._sessionmaker() as session:
            found = set((await session.scalars(query)).all())
        if found != set(wanted):
            raise BadUserInput("Unknown agent id.", field="input.agentIds")
        return wanted

    async def revoke(self, *, key_id: str) -> ApiKey:
        async with transaction(self._sessionmaker) as session:
            api_key = await session.get_one(ApiKey, key_id)
            if api_key.revoked_at is None:
                api_key.revoked_at = utcnow()
            return api_key

    async def page(
        self,
        *,
        principal: Principal,
        include_revoked: bool,
        first: int | None,
        after: str | None,
    ) -> Page[ApiKey]:
        """The caller's own keys, newest first (an ADMIN's too: keys are never shared)."""
        filters = [col(ApiKey.user_id) == principal.user_id]
        if not include_revoked:
            filters.append(col(ApiKey.revoked_at).is_(None))
        return await self._pager.fetch(
            self._sessionmaker, ApiKey, filters, API_KEYS_ORDER, first=first, after=after
        )

    async def get(self, *, key_id: str) -> ApiKey | None:
        async with self._sessionmaker() as session:
            return await session.get(ApiKey, key_id)
