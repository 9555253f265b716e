"""Webhooks, as their owners manage them: register an endpoint, filter it, rotate its
secret, test it, redeliver and replay. Sending is kai.services.webhook_delivery's."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.egress.policy import EgressPolicy
from kai.errors import BadUserInput, NotFound, QuotaExceeded
from kai.events.log import EventLog
from kai.events.webhook_outbox import delivery_body
from kai.models.agent import Agent
from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.base import new_id, utcnow
from kai.models.webhook import DeliveryState, Webhook, WebhookDelivery
from kai.security.principal import Principal
from kai.services.pagination import Page, Pager, Sorting, ordering
from kai.services.validation import bounded_text
from kai.services.webhook_secrets import SecretBox, new_secret

MAX_URL = 2000
MAX_DESCRIPTION = 500
MAX_AGENTS = 100
# How long the old secret keeps signing beside the new one after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)

WEBHOOK_ORDER = ordering(
    "webhooks", {"CREATED_AT": (col(Webhook.created_at), "datetime")}, col(Webhook.id), Sorting()
)
DELIVERY_ORDER = ordering(
    "webhook.deliveries",
    {"CREATED_AT": (col(WebhookDelivery.created_at), "datetime")},
    col(WebhookDelivery.id),
    Sorting(),
)


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """createWebhook's input, or updateWebhook's (None: unchanged; agent_ids=[] is all)."""

    url: str | None = None
    description: str | None = None
    event_types: Sequence[str] | None = None
    agent_ids: Sequence[str] | None = None
    active: bool | None = None


class WebhookService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        pager: Pager,
        events: EventLog,
        box: SecretBox,
        egress: EgressPolicy,
        per_user: int,
        replay_cap: int = 10_000,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._events = events
        self.box = box
        self._egress = egress
        self._per_user = per_user
        # Deliveries one webhook may have pending after a replay.
        self.replay_cap = replay_cap

    async def get(self, *, webhook_id: str) -> Webhook | None:
        async with self._sessionmaker() as session:
            return await session.get(Webhook, webhook_id, populate_existing=True)

    async def get_delivery(self, *, delivery_id: str) -> WebhookDelivery | None:
        async with self._sessionmaker() as session:
            return await session.get(WebhookDelivery, delivery_id, populate_existing=True)

    async def create(self, *, owner_id: str, changes: WebhookChanges) -> tuple[Webhook, str]:
        """The webhook and its secret (shown once); BAD_USER_INPUT naming the field for a
        URL or filter that does not hold, QUOTA_EXCEEDED past the owner's cap."""
        assert changes.url is not None
        values = await self._checked(owner_id, changes)
        secret = new_secret()
        webhook = Webhook(owner_id=owner_id, secret=self.box.seal(secret), **values)
        async with transaction(self._sessionmaker) as session:
            mine = await session.scalar(
                select(func.count()).where(col(Webhook.owner_id) == owner_id)
            )
            if (mine or 0) >= self._per_user:
                raise QuotaExceeded("webhooks", quota="webhooks", limit=self._per_user)
            session.add(webhook)
        return webhook, secret

    async def update(self, *, webhook: Webhook, changes: WebhookChanges) -> Webhook:
        values = await self._checked(webhook.owner_id, changes)
        if changes.active:
            # Turned on again by its owner: whatever turned it off is forgotten.
            values |= {"disabled_reason": None, "failures_in_a_row": 0, "open_until": None}
        if values:
            async with transaction(self._sessionmaker) as session:
                await session.execute(
                    update(Webhook).where(col(Webhook.id) == webhook.id).values(values)
                )
        return await self._reread(webhook.id)

    async def delete(self, *, webhook_id: str) -> bool:
        """Gone, with its deliveries, sent or not."""
        async with transaction(self._sessionmaker) as session:
            removed = await changed_rows(
                session, delete(Webhook).where(col(Webhook.id) == webhook_id)
            )
        return removed == 1

    async def rotate(self, *, webhook: Webhook) -> tuple[Webhook, str]:
        """A new secret; the current one keeps signing beside it for 24 hours."""
        secret = new_secret()
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Webhook)
                .where(col(Webhook.id) == webhook.id)
                .values(
                    secret=self.box.seal(secret),
                    previous_secret=webhook.secret,
                    previous_secret_until=utcnow() + ROTATION_OVERLAP,
                    # Its owner acted on it: its circuit closes, for the next attempt to tell.
                    failures_in_a_row=0,
                    open_until=None,
                )
            )
        return await self._reread(webhook.id), secret

    async def page(
        self, *, principal: Principal, first: int | None, after: str | None
    ) -> Page[Webhook]:
        """The caller's webhooks (ADMIN: everyone's), newest first."""
        filters: list[ColumnElement[bool]] = []
        if not principal.is_admin:
            filters.append(col(Webhook.owner_id) == principal.user_id)
        return await self._pager.fetch(
            self._sessionmaker, Webhook, filters, WEBHOOK_ORDER, first=first, after=after
        )

    async def deliveries(
        self, *, webhook_id: str, failed_only: bool, first: int | None, after: str | None
    ) -> Page[WebhookDelivery]:
        filters = [col(WebhookDelivery.webhook_id) == webhook_id]
        if failed_only:
            filters.append(col(WebhookDelivery.state) == DeliveryState.FAILED)
        return await self._pager.fetch(
            self._sessionmaker, WebhookDelivery, filters, DELIVERY_ORDER, first=first, after=after
        )

    async def test(self, *, webhook: Webhook) -> WebhookDelivery:
        """A synthetic event (seq 0, `data.test` true) queued to be sent now, as if one of
        the webhook's agents had had it."""
        agent_id = await self._an_agent_of(webhook)
        now = utcnow()
        body = delivery_body(
            agent_id=agent_id,
            seq=0,
            type=AgentEventType.STATUS_UPDATE.value,
            data={"test": True, "message": "A test event sent by testWebhook."},
            timestamp=now,
        )
        delivery = WebhookDelivery(
            id=new_id("whd"),
            webhook_id=webhook.id,
            agent_id=agent_id,
            event_seq=0,
            event_type=AgentEventType.STATUS_UPDATE.value,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        async with transaction(self._sessionmaker) as session:
            session.add(delivery)
        return delivery

    async def redeliver(self, *, delivery: WebhookDelivery) -> WebhookDelivery:
        """Queued to be sent again now (same id, so receivers that took it ignore it); its
        webhook's circuit closes, since its owner asked for an attempt now."""
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                update(Webhook)
                .where(col(Webhook.id) == delivery.webhook_id)
                .values(open_until=None)
            )
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery.id)
                .values(
                    state=DeliveryState.PENDING,
                    next_attempt_at=utcnow(),
                    lease_until=None,
                    delivered_at=None,
                )
            )
        found = await self.get_delivery(delivery_id=delivery.id)
        assert found is not None
        return found

    async def replay(self, *, webhook: Webhook, agent_id: str, after: int) -> int:
        """A new delivery for each stored event of the agent with seq > after that the
        webhook wants; how many. As far back as the event log's retention keeps. All or
        nothing: QUOTA_EXCEEDED, queueing none, when the webhook would have more than
        `replay_cap` deliveries pending (replays asked again and again would otherwise
        fill the table)."""
        await self._room_for_replay(webhook, agent_id, after)
        queued = 0
        while True:
            events = await self._events.after(agent_id=agent_id, after=after)
            if not events:
                return queued
            after = events[-1].seq
            now = utcnow()
            rows = [
                WebhookDelivery(
                    id=new_id("whd"),
                    webhook_id=webhook.id,
                    agent_id=agent_id,
                    event_seq=event.seq,
                    event_type=event.type.value,
                    body=delivery_body(
                        agent_id=agent_id,
                        seq=event.seq,
                        type=event.type.value,
                        data=event.data,
                        timestamp=event.timestamp,
                    ),
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in events
                if webhook.event_types is None or event.type.value in webhook.event_types
            ]
            async with transaction(self._sessionmaker) as session:
                session.add_all(rows)
            queued += len(rows)

    async def _room_for_replay(self, webhook: Webhook, agent_id: str, after: int) -> None:
        wanted = [
            col(AgentEvent.agent_id) == agent_id,
            col(AgentEvent.seq) > after,
        ]
        if webhook.event_types is not None:
            wanted.append(col(AgentEvent.type).in_(webhook.event_types))
        async with self._sessionmaker() as session:
            events = await session.scalar(select(func.count()).where(*wanted))
            pending = await session.scalar(
                select(func.count()).where(
                    col(WebhookDelivery.webhook_id) == webhook.id,
                    col(WebhookDelivery.state) == DeliveryState.PENDING,
                )
            )
        if (events or 0) + (pending or 0) > self.replay_cap:
            raise QuotaExceeded(
                "deliveries pending for this webhook, with this replay,",
                quota="webhookPendingDeliveries",
                limit=self.replay_cap,
            )

    async def _an_agent_of(self, webhook: Webhook) -> str:
        async with self._sessionmaker() as session:
            query = select(col(Agent.id)).where(col(Agent.owner_id) == webhook.owner_id)
            if webhook.agent_ids is not None:
                query = query.where(col(Agent.id).in_(webhook.agent_ids))
            agent_id = await session.scalar(query.order_by(col(Agent.created_at).desc()).limit(1))
        if agent_id is None:
            raise BadUserInput(
                "A test event is sent as one of the webhook's agents: create an agent first.",
                field="id",
            )
        return str(agent_id)

    async def _reread(self, webhook_id: str) -> Webhook:
        found = await self.get(webhook_id=webhook_id)
        if found is None:
            raise NotFound("Webhook")
        return found

    async def _checked(self, owner_id: str, changes: WebhookChanges) -> dict[str, Any]:
        """The columns these changes set, each checked (BAD_USER_INPUT naming the field)."""
        values: dict[str, Any] = {}
        if changes.url is not None:
            values["url"] = await self.check_url(changes.url)
        if changes.description is not None:
            values["description"] = bounded_text(
                changes.description, field="input.description", max_length=MAX_DESCRIPTION
            )
        if changes.event_types is not None:
            kinds = sorted({AgentEventType(kind).value for kind in changes.event_types})
            values["event_types"] = kinds or None  # none named: every type
        if changes.agent_ids is not None:
            values["agent_ids"] = await self._owned_agents(owner_id, changes.agent_ids)
        if changes.active is not None:
            values["active"] = changes.active
        return values

    async def _owned_agents(self, owner_id: str, agent_ids: Sequence[str]) -> list[str] | None:
        wanted = sorted(set(agent_ids))
        if not wanted:
            return None  # none named: every agent of the owner, present and future
        if len(wanted) > MAX_AGENTS:
            raise BadUserInput(f"At most {MAX_AGENTS} agents.", field="input.agentIds")
        async with self._sessionmaker() as session:
            found = set(
                await session.scalars(
                    select(col(Agent.id)).where(
                        col(Agent.id).in_(wanted), col(Agent.owner_id) == owner_id
                    )
                )
            )
        if missing := [agent_id for agent_id in wanted if agent_id not in found]:
            # Another user's agent reads as missing: existence never leaks.
            raise BadUserInput(f"No such agent of yours: {missing[0]}.", field="input.agentIds")
        return wanted

    async def check_url(self, url: str) -> str:
        """An https URL, or http to an address the egress policy names (development's
        loopback); never credentials in it. Where https leads is judged on every
        connection (kai.egress.client), not only here."""
        url = url.strip()
        parts = urlsplit(url)
        problem = None
        if len(url) > MAX_URL:
            problem = f"At most {MAX_URL} characters."
        elif parts.scheme not in ("https", "http") or not parts.hostname:
            problem = "An https:// URL with a host."
        elif parts.username or parts.password:
            problem = "No credentials in the URL: check the signature instead."
        elif any(ch.isspace() or ord(ch) < 32 for ch in url):
            problem = "No spaces or control characters."
        elif parts.scheme == "http" and not await self._allow_listed(parts.hostname):
            problem = (
                "http:// only to addresses KAI_EGRESS_ALLOWED_NETWORKS names (development); "
                "use https://."
            )
        if problem is not None:
            raise BadUserInput(problem, field="input.url")
        return url

    async def _allow_listed(self, host: str) -> bool:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            return False
        addresses = {str(info[4][0]) for info in infos}
        return bool(addresses) and all(self._egress.allow_listed(a) for a in addresses)
