"""Who is calling: a user, through a session or an API key, with what grant."""

from __future__ import annotations

from dataclasses import dataclass

from kai.models.user import Role
from kai.security.permissions import Grant


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    email: str
    role: Role
    grant: Grant
    session_id: str | None = None
    api_key_id: str | None = None
    # None: any of the owner's agents; otherwise the API key's narrowing.
    agent_ids: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can(self, permission: str) -> bool:
        return self.grant.allows(permission)

    def may_act_on(self, owner_id: str) -> bool:
        """Ownership: non-admins act only on their own objects."""
        return self.is_admin or owner_id == self.user_id

    def may_use_agent(self, agent_id: str) -> bool:
        """An API key limited to some agents sees no others."""
        return self.agent_ids is None or agent_id in self.agent_ids
