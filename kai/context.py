"""The per-request Context: credentials, principal, loaders, audit, services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import HTTPConnection

from kai.errors import Forbidden, NotFound, RateLimited, Unauthenticated
from kai.loaders import Loaders
from kai.security.audit import Auditor
from kai.security.client_ip import client_ip
from kai.security.principal import Principal
from kai.services.shared import Services

_UNSET: Any = object()


def bearer_credential(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        # Something was sent, and it is not usable: that is a failed login,
        # not an anonymous call.
        return ""
    return credential.strip()


def _new_loaders(services: Services) -> Loaders:
    return Loaders.create(
        services.sessionmaker,
        status=services.agent_status,
        logs=services.agent_logs,
        tasks=services.tasks,
        files=services.files,
    )


@dataclass
class Context:
    services: Services
    connection: HTTPConnection
    request_id: str
    client_ip: str | None
    credential: str | None
    auditor: Auditor
    # Filled by Strawberry from a WebSocket's connection_init payload.
    connection_params: dict[str, Any] | None = None
    # Tasks that live as long as the connection (a socket's credential watch).
    background: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _principal: Any = field(default=_UNSET, repr=False)
    # Made on first use: a socket's Context lives as long as the socket, and a subscription
    # of agent events never loads anything (seven loaders were 3.4 KiB per connection).
    _loaders: Loaders | None = field(default=None, repr=False)

    @classmethod
    def build(cls, *, services: Services, connection: HTTPConnection, request_id: str) -> Context:
        return cls(
            services=services,
            connection=connection,
            request_id=request_id,
            client_ip=client_ip(connection, services.settings.trusted_proxies),
            credential=bearer_credential(connection.headers.get("authorization")),
            auditor=Auditor(services.sessionmaker, request_id),
        )

    @property
    def user_agent(self) -> str | None:
        return self.connection.headers.get("user-agent")

    async def optional_principal(self) -> Principal | None:
        """None for an anonymous call; UNAUTHENTICATED for credentials that do not work."""
        if self._principal is _UNSET:
            if self.credential is None:
                self._principal = None
            elif not self.credential:
                raise Unauthenticated()
            else:
                authenticator = self.services.authenticator
                found, user = await authenticator.authenticate_user(self.credential)
                # The row was read just now, for this request: `me` and owners reuse it.
                self.loaders.user_by_id.prime(user.id, user)
                self._principal = found
        principal: Principal | None = self._principal
        return principal

    @property
    def known_principal(self) -> Principal | None:
        """The caller, when this request has authenticated it already; else None."""
        return self._principal if isinstance(self._principal, Principal) else None

    def refresh_principal(self, principal: Principal) -> None:
        self._principal = principal

    def forget_principal(self) -> None:
        """The next check authenticates the credential again (a socket's next operation)."""
        self._principal = _UNSET

    @property
    def loaders(self) -> Loaders:
        loaders = self._loaders
        if loaders is None:
            loaders = self._loaders = _new_loaders(self.services)
        return loaders

    def renew_loaders(self) -> None:
        """Loaders with nothing cached (a socket's next operation, or next event)."""
        self._loaders = None

    async def principal(self) -> Principal:
        principal = await self.optional_principal()
        if principal is None:
            raise Unauthenticated()
        return principal

    async def authorize(
        self,
        permission: str,
        *,
        resource: str | None = None,
        owner_id: str | None = None,
        found: bool = True,
        permitted: bool = True,
        hide_denial: bool = False,
        agent_id: str | None = None,
        fold: str | None = None,
    ) -> Principal:
        """Check a permission and, for an object, its ownership; audit the outcome either way.

        Missing permission: FORBIDDEN (it does not depend on the object, so it
        leaks nothing). A missing object (`found=False`) or someone else's:
        NOT_FOUND, so that existence never leaks (G10).

        `permitted=False` denies the check like a missing permission, for a rule
        beyond the matrix (nobody changes their own role, K4), so the audit row
        records the refusal. `hide_denial` answers a missing permission with
        NOT_FOUND, for lookups of a kind the caller sees only part of (their own
        account among users). `agent_id` applies an API key's agent narrowing. `fold`:
        the check is one of a list's items (kai.security.audit), audited once per list.
        """
        return self.authorize_known(
            await self.principal(),
            permission,
            resource=resource,
            owner_id=owner_id,
            found=found,
            permitted=permitted,
            hide_denial=hide_denial,
            agent_id=agent_id,
            fold=fold,
        )

    def authorize_known(
        self,
        principal: Principal,
        permission: str,
        *,
        resource: str | None = None,
        owner_id: str | None = None,
        found: bool = True,
        permitted: bool = True,
        hide_denial: bool = False,
        agent_id: str | None = None,
        fold: str | None = None,
    ) -> Principal:
        """`authorize` for a caller already authenticated: the same check and audit, with
        nothing to await (a field that runs once per item of a list)."""
        allowed = permitted and principal.can(permission)
        visible = (
            found
            and (owner_id is None or principal.may_act_on(owner_id))
            and (agent_id is None or principal.may_use_agent(agent_id))
        )
        self.auditor.record(principal, permission, resource, allowed and visible, fold=fold)
        if not allowed:
            raise NotFound() if hide_denial else Forbidden(permission)
        if not visible:
            raise NotFound()
        return principal

    async def throttle(self, operation: str, *, account: str | None = None) -> None:
        """Count one attempt per client IP and, when known, per account (A8).

        Each resolver call counts, so aliases cannot multiply attempts. A limit of 0
        is unlimited.
        """
        settings = self.services.settings
        limiter = self.services.rate_limiter
        window = settings.rate_limit_auth_window_seconds
        keys = [(f"auth:{operation}:ip:{self.client_ip}", settings.rate_limit_auth_per_ip)]
        if account:
            keys.append(
                (f"auth:{operation}:account:{account}", settings.rate_limit_auth_per_account)
            )
        for key, limit in keys:
            wait = await limiter.hit(key, limit=limit, window=window)
            if wait > 0:
                raise RateLimited(wait)


# What every field resolver receives: `info.context` is a kai Context.
Info = strawberry.Info[Context, None]


def list_field(info: Info) -> str | None:
    """The path of the field being resolved without list indices (`agents.tasks`), when
    it is resolved for an item of a list; None outside any list (`agent(id) { tasks }`)."""
    keys: list[str] = []
    in_list = False
    path: Any = info.path
    while path is not None:
        if isinstance(path.key, int):
            in_list = True
        else:
            keys.append(str(path.key))
        path = path.prev
    return ".".join(reversed(keys)) if in_list else None
