"""The webhook outbox: each stored agent event becomes a delivery row for every webhook
of its agent's owner that wants it, in the transaction that stores the event. A crash
after the commit loses no delivery (the senders find the rows); a rollback takes the
event and its deliveries back together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kai.models.agent_event import AgentEvent
from kai.models.base import JsonArrayHas, NewId, UTCDateTime
from kai.models.webhook import DeliveryState, Webhook, WebhookDelivery

_COLUMNS = [
    "id",
    "webhook_id",
    "agent_id",
    "event_seq",
    "event_type",
    "body",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def delivery_body(
    *, agent_id: str, seq: int, type: str, data: Any, timestamp: datetime
) -> dict[str, Any]:
    """What a webhook receives (Standard Webhooks' `type`, `timestamp`, `data`): the event
    with its agent and `seq`, so that a receiver can order, deduplicate and find gaps."""
    stamp = timestamp.isoformat()
    return {
        "type": type,
        "timestamp": stamp,
        "data": {"agentId": agent_id, "seq": seq, "type": type, "data": data, "timestamp": stamp},
    }


def wanting(owner_id: str, agent_id: str, event_type: str) -> list[Any]:
    """The conditions on `webhook` rows that want this agent's event of this type."""
    return [
        col(Webhook.owner_id) == owner_id,
        col(Webhook.active).is_(True),
        or_(col(Webhook.event_types).is_(None), JsonArrayHas(col(Webhook.event_types), event_type)),
        or_(col(Webhook.agent_ids).is_(None), JsonArrayHas(col(Webhook.agent_ids), agent_id)),
    ]


async def queue_deliveries(session: AsyncSession, event: AgentEvent, owner_id: str) -> None:
    """One statement, whether the owner has webhooks or not."""
    type = event.type.value
    body = delivery_body(
        agent_id=event.agent_id,
        seq=event.seq,
        type=type,
        data=event.data,
        timestamp=event.timestamp,
    )
    chosen = select(
        NewId("whd"),
        col(Webhook.id),
        literal(event.agent_id, String()),
        literal(event.seq, Integer()),
        literal(type, String()),
        bindparam("delivery_body", body, type_=JSON()),
        literal(DeliveryState.PENDING.value, String()),
        literal(0, Integer()),
        literal(event.timestamp, UTCDateTime()),
        literal(event.timestamp, UTCDateTime()),
    ).where(*wanting(owner_id, event.agent_id, type))
    await session.execute(insert(WebhookDelivery).from_select(_COLUMNS, chosen))
