"""The outbox as senders work through it: claim due deliveries, then record each attempt.

At least once: a delivery is claimed with a lease (a guarded UPDATE, so one sender holds
it), and stays PENDING until an attempt's outcome is written; a sender killed mid-attempt
leaves it to be claimed again when the lease runs out, with the same `webhook-id`. In
order: a delivery waits while an earlier event of the same agent is still pending for the
same webhook, so receivers get each agent's events in `seq` order unless one is given up
on (FAILED). A webhook whose endpoint keeps failing is skipped for a while (its circuit
is open), so its backlog costs nothing meanwhile and slows no other endpoint.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.models.base import utcnow
from kai.models.webhook import DeliveryState, Webhook, WebhookDelivery

GONE_REASON = "the endpoint answered 410 Gone"
MAX_BREAKER_DOUBLINGS = 6


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    retry_seconds: Sequence[float]
    lease: timedelta
    breaker_failures: int
    breaker_seconds: float


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a sender holds for one attempt, with what it needs to send it."""

    delivery: WebhookDelivery
    owner_id: str
    url: str
    # Sealed secrets to sign with: the current one, and the previous during a rotation.
    secrets: tuple[str, ...]
    attempt: int
    # Its webhook had failed attempts in a row when claimed: a success resets the breaker.
    endpoint_failing: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: `status` is the HTTP status, None when none came."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


class DeliveryQueue:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], rules: DeliveryRules):
        self._sessionmaker = sessionmaker
        self.rules = rules

    async def claim(
        self,
        *,
        limit: int,
        busy: Collection[str],
        owner_room: Callable[[str], int] = lambda _: 1 << 30,
    ) -> list[Claimed]:
        """Up to `limit` due deliveries, each now held by this sender; `busy`: webhooks
        this sender has no room for now (its per-endpoint limit); `owner_room`: how many
        more the sender may take for one user's webhooks (their share of its slots)."""
        now = utcnow()
        query = _due(now, limit * 4, busy)
        async with self._sessionmaker() as session:
            candidates = (await session.execute(query)).all()
        chosen: dict[str, tuple[WebhookDelivery, Webhook]] = {}
        lanes: set[tuple[str, str]] = set()
        taken: Counter[str] = Counter()
        for delivery, webhook in candidates:
            lane = (delivery.webhook_id, delivery.agent_id)
            if len(chosen) >= limit or (lane in lanes and delivery.event_seq > 0):
                continue  # one event per agent and webhook at a time: the order holds
            if taken[webhook.owner_id] >= owner_room(webhook.owner_id):
                continue  # this user's webhooks have their share of the slots
            lanes.add(lane)
            taken[webhook.owner_id] += 1
            chosen[delivery.id] = (delivery, webhook)
        held = await self._hold(list(chosen), now) if chosen else {}
        return [
            _claimed(delivery, webhook, now, held[delivery.id])
            for delivery, webhook in chosen.values()
            if delivery.id in held
        ]

    async def next_in_lane(self, done: Claimed) -> Claimed | None:
        """The next event of the same agent for the same webhook, held, if it is due: what
        a sender takes on as soon as one is done, with one indexed lookup instead of a
        claim's look over every pending delivery."""
        now = utcnow()
        head = (
            select(WebhookDelivery, Webhook)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(
                col(WebhookDelivery.webhook_id) == done.delivery.webhook_id,
                col(WebhookDelivery.agent_id) == done.delivery.agent_id,
                col(WebhookDelivery.state) == DeliveryState.PENDING,
                col(WebhookDelivery.event_seq) > 0,
            )
            .order_by(col(WebhookDelivery.event_seq))
            .limit(1)
        )
        async with self._sessionmaker() as session:
            found = (await session.execute(head)).first()
        if found is None:
            return None
        delivery, webhook = found
        due = delivery.next_attempt_at is not None and delivery.next_attempt_at <= now
        usable = webhook.active and (webhook.open_until is None or webhook.open_until <= now)
        if not (due and usable):
            return None
        held = await self._hold([delivery.id], now)
        if delivery.id not in held:
            return None
        return _claimed(delivery, webhook, now, held[delivery.id])

    async def _hold(self, delivery_ids: list[str], now: datetime) -> dict[str, int]:
        """Holds those no other sender holds, in one statement; their attempt numbers."""
        async with transaction(self._sessionmaker) as session:
            rows = await session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id).in_(delivery_ids),
                    col(WebhookDelivery.state) == DeliveryState.PENDING,
                    _unheld(now),
                )
                .values(
                    attempts=col(WebhookDelivery.attempts) + 1,
                    lease_until=now + self.rules.lease,
                )
                .returning(col(WebhookDelivery.id), col(WebhookDelivery.attempts))
                .execution_options(synchronize_session=False)
            )
            return {str(delivery_id): int(attempts) for delivery_id, attempts in rows.all()}

    async def record(self, claimed: Claimed, outcome: Outcome) -> DeliveryState:
        """Writes the attempt's outcome, if this sender still holds the delivery (its lease
        ran out and another took it: the other's outcome is the one kept)."""
        now = utcnow()
        delivery = claimed.delivery
        values: dict[str, Any] = {
            "last_status_code": outcome.status,
            "last_error": (outcome.error or "")[:200] or None,
            "lease_until": None,
        }
        if outcome.delivered:
            values |= {"state": DeliveryState.DELIVERED, "delivered_at": now}
        elif outcome.gone or claimed.attempt > len(self.rules.retry_seconds):
            values["state"] = DeliveryState.FAILED
        else:
            delay = self.rules.retry_seconds[claimed.attempt - 1] * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with transaction(self._sessionmaker) as session:
            mine = await changed_rows(
                session,
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery.id,
                    col(WebhookDelivery.state) == DeliveryState.PENDING,
                    col(WebhookDelivery.attempts) == claimed.attempt,
                )
                .values(values),
            )
            if mine:
                await self._endpoint_was(
                    session, delivery.webhook_id, outcome, now, claimed.endpoint_failing
                )
        return DeliveryState(values.get("state", DeliveryState.PENDING))

    async def _endpoint_was(
        self,
        session: AsyncSession,
        webhook_id: str,
        outcome: Outcome,
        now: datetime,
        endpoint_failing: bool,
    ) -> None:
        """The webhook's circuit breaker, and 410's switch-off."""
        row = update(Webhook).where(col(Webhook.id) == webhook_id)
        if outcome.delivered:
            if endpoint_failing:  # else there is nothing to reset: no write
                await session.execute(row.values(failures_in_a_row=0, open_until=None))
            return
        if outcome.gone:
            await session.execute(row.values(active=False, disabled_reason=GONE_REASON))
            return
        failures = await session.scalar(
            update(Webhook)
            .where(col(Webhook.id) == webhook_id)
            .values(failures_in_a_row=col(Webhook.failures_in_a_row) + 1)
            .returning(col(Webhook.failures_in_a_row))
        )
        over = (failures or 0) - self.rules.breaker_failures
        if over >= 0:
            pause = self.rules.breaker_seconds * 2 ** min(over, MAX_BREAKER_DOUBLINGS)
            await session.execute(row.values(open_until=now + timedelta(seconds=pause)))


def _due(now: datetime, limit: int, busy: Collection[str]) -> Any:
    """Due deliveries no sender holds, each the earliest pending event of its agent for its
    webhook, of webhooks that are on, with their circuit closed and not in `busy`."""
    earlier = aliased(WebhookDelivery)
    waits_its_turn = (
        select(col(earlier.id))
        .where(
            col(earlier.webhook_id) == col(WebhookDelivery.webhook_id),
            col(earlier.agent_id) == col(WebhookDelivery.agent_id),
            col(earlier.state) == DeliveryState.PENDING,
            col(earlier.event_seq) > 0,
            col(earlier.event_seq) < col(WebhookDelivery.event_seq),
        )
        .exists()
    )
    query = (
        select(WebhookDelivery, Webhook)
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .where(
            col(WebhookDelivery.state) == DeliveryState.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
            _unheld(now),
            col(Webhook.active).is_(True),
            or_(col(Webhook.open_until).is_(None), col(Webhook.open_until) <= now),
            ~waits_its_turn,
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.event_seq))
        .limit(limit)
    )
    if busy:
        query = query.where(col(Webhook.id).not_in(sorted(busy)))
    return query


def _claimed(delivery: WebhookDelivery, webhook: Webhook, now: datetime, attempt: int) -> Claimed:
    return Claimed(
        delivery=delivery,
        owner_id=webhook.owner_id,
        url=webhook.url,
        secrets=_secrets(webhook, now),
        attempt=attempt,
        endpoint_failing=webhook.failures_in_a_row > 0 or webhook.open_until is not None,
    )


def _unheld(now: datetime) -> Any:
    return or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now)


def _secrets(webhook: Webhook, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while a rotation's overlap lasts."""
    previous, until = webhook.previous_secret, webhook.previous_secret_until
    if previous is not None and until is not None and until > now:
        return (webhook.secret, previous)
    return (webhook.secret,)
