from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Index
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class DeliveryState(enum.StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class Webhook(SQLModel, table=True):
    """An owner's endpoint that agent events are POSTed to, signed (Standard Webhooks).

    The signing secret is stored encrypted (kai.services.webhook_secrets); after a
    rotation the previous one keeps signing beside it until `previous_secret_until`.
    """

    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_owner_id_active", "owner_id", "active"),)

    id: str = Field(default_factory=lambda: new_id("whk"), primary_key=True, max_length=40)
    owner_id: str = Field(max_length=40)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    # Null: every event type; null agent_ids: every agent of the owner.
    event_types: list[str] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    agent_ids: list[str] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    active: bool = True
    # Why the server turned it off (the endpoint answered 410 Gone), if it did.
    disabled_reason: str | None = Field(default=None, max_length=200)
    secret: str = Field(max_length=200)
    previous_secret: str | None = Field(default=None, max_length=200)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The circuit breaker: failed attempts in a row, and no attempt before `open_until`.
    failures_in_a_row: int = 0
    open_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook (the outbox): written in the transaction that stores the
    event, sent by a worker until the endpoint takes it or the retries run out. Its id is
    the `webhook-id` header, the same on every attempt, for receivers to deduplicate by."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # What the senders look for: pending, due, by webhook and agent in seq order.
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "webhook_id", "agent_id", "state", "event_seq"),
        Index("ix_webhook_delivery_webhook_id_created_at", "webhook_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    webhook_id: str = Field(foreign_key="webhook.id", ondelete="CASCADE", max_length=40)
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    # 0 for testWebhook's synthetic event; real events number from 1.
    event_seq: int
    event_type: str = Field(max_length=32)
    # The body sent, fixed when the event was stored: it outlives the event's retention.
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: DeliveryState = Field(
        default=DeliveryState.PENDING,
        sa_column=Column(
            Enum(DeliveryState, name="delivery_state", native_enum=False, length=16),
            nullable=False,
        ),
    )
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A sender holds it until then (a sender killed mid-attempt lets it go by itself).
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
