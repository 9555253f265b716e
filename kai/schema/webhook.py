from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from kai.context import Info, list_field
from kai.errors import NotFound
from kai.models.agent_event import AgentEventType as AgentEventTypeValue
from kai.models.base import utcnow
from kai.models.webhook import DeliveryState as DeliveryStateValue
from kai.models.webhook import Webhook as WebhookRow
from kai.models.webhook import WebhookDelivery as DeliveryRow
from kai.schema.agent_event import AgentEventType
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.pagination import After, CountedConnection, Edge

if TYPE_CHECKING:
    from kai.schema.agent import Agent

DeliveryState = described_enum(
    DeliveryStateValue,
    name="DeliveryState",
    description="Where a webhook delivery is.",
    values={
        "PENDING": "Not taken by the endpoint yet: being sent, or waiting for its next attempt.",
        "DELIVERED": "The endpoint answered 2xx.",
        "FAILED": "Given up: its retries ran out, or the endpoint answered 410 Gone.",
    },
)


@strawberry.type(
    description="An endpoint that the owner's agent events are POSTed to, signed per the "
    "Standard Webhooks spec (webhook-id, webhook-timestamp, webhook-signature)."
)
class Webhook(Node):
    id: strawberry.ID = strawberry.field(description="Opaque webhook id.")
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str | None = strawberry.field(description="The owner's note.")
    event_types: list[AgentEventType] = strawberry.field(  # type: ignore[valid-type]
        description="Event types delivered; empty means all."
    )
    active: bool = strawberry.field(
        description="False: nothing is sent (turned off by its owner, or by the server when "
        "the endpoint answered 410 Gone)."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    disabled_reason: str | None = strawberry.field(
        description="Why the server switched it off (the endpoint answered 410 Gone); null "
        "while active, or when its owner switched it off."
    )
    previous_secret_valid_until: datetime | None = strawberry.field(
        description="After rotateWebhookSecret: until when the previous secret still signs "
        "beside the new one; null when only one secret signs."
    )
    paused_until: datetime | None = strawberry.field(
        description="Its circuit breaker is open (attempts kept failing): no delivery is tried "
        "before this time; null when closed."
    )
    row: strawberry.Private[WebhookRow]

    @strawberry.field(description="Agents watched; null means all of the owner's agents.")
    async def agents(
        self, info: Info
    ) -> list[Annotated[Agent, strawberry.lazy("kai.schema.agent")]] | None:
        from kai.schema.agent import Agent

        if self.row.agent_ids is None:
            return None
        rows = await info.context.loaders.agent_by_id.load_many(self.row.agent_ids)
        return [Agent.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        failed_only: Annotated[
            bool | None, strawberry.argument(description="Only those given up on (FAILED).")
        ] = False,
        first: Annotated[
            int | None, strawberry.argument(description="How many, 1 to 500; 20 when left out.")
        ] = 20,
        after: After = None,
    ) -> WebhookDeliveryConnection:
        page = await info.context.services.webhooks.deliveries(
            webhook_id=self.row.id, failed_only=bool(failed_only), first=first, after=after
        )
        # Each delivery answers `webhook` with this row: no statement per delivery.
        return WebhookDeliveryConnection.of(
            page, WebhookDeliveryEdge, lambda row: WebhookDelivery.from_row(row, webhook=self.row)
        )

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=strawberry.ID(row.id),
            url=row.url,
            description=row.description,
            event_types=[AgentEventTypeValue(kind) for kind in row.event_types or []],
            active=row.active,
            created_at=row.created_at,
            disabled_reason=row.disabled_reason if not row.active else None,
            previous_secret_valid_until=_still(row.previous_secret_until),
            paused_until=_still(row.open_until),
            row=row,
        )


def _still(moment: datetime | None) -> datetime | None:
    """`moment` if it is still ahead, else None."""
    return moment if moment is not None and moment > utcnow() else None


@strawberry.type(description="A new webhook, or a webhook with a new secret.")
class WebhookCreated:
    webhook: Webhook = strawberry.field(description="The webhook.")
    secret: str = strawberry.field(
        description="The signing secret (whsec_...), shown once: verify each request's "
        "webhook-signature with it (any Standard Webhooks library does)."
    )


@strawberry.type(
    description="One event for one webhook. Its id is the webhook-id header, the same on "
    "every attempt: receivers deduplicate by it."
)
class WebhookDelivery(Node):
    id: strawberry.ID = strawberry.field(description="Opaque delivery id (the webhook-id).")
    event_seq: int = strawberry.field(
        description="The event's seq in its agent's log (0: testWebhook's synthetic event)."
    )
    event_type: AgentEventType = strawberry.field(description="The event's type.")  # type: ignore[valid-type]
    state: DeliveryState = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Requests sent so far.")
    last_status_code: int | None = strawberry.field(
        description="The HTTP status of the latest answer; null when none came."
    )
    last_error: str | None = strawberry.field(
        description="Why the latest attempt did not deliver, in a few words (never the "
        "endpoint's answer itself)."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next, while PENDING."
    )
    created_at: datetime = strawberry.field(description="When it was queued.")
    delivered_at: datetime | None = strawberry.field(description="When the endpoint took it.")
    row: strawberry.Private[DeliveryRow]
    webhook_row: strawberry.Private[WebhookRow | None] = None

    @strawberry.field(description="The webhook it is for.")
    async def webhook(self, info: Info) -> Webhook:
        row = self.webhook_row or await info.context.services.webhooks.get(
            webhook_id=self.row.webhook_id
        )
        if row is None:
            raise NotFound("Webhook")
        return Webhook.from_row(row)

    @strawberry.field(description="The agent whose event it is.")
    async def agent(self, info: Info) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")]:
        from kai.schema.agent import Agent

        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        if row is None:
            raise NotFound("Agent")
        await info.context.authorize(
            "agent.read",
            resource=f"agent:{row.id}",
            owner_id=row.owner_id,
            agent_id=row.id,
            fold=list_field(info),
        )
        return Agent.from_row(row)

    @classmethod
    def from_row(cls, row: DeliveryRow, *, webhook: WebhookRow | None = None) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(row.id),
            event_seq=row.event_seq,
            event_type=AgentEventTypeValue(row.event_type),
            state=row.state,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at
            if row.state is DeliveryStateValue.PENDING
            else None,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            row=row,
            webhook_row=webhook,
        )


@strawberry.type(description="A webhook in a page.")
class WebhookEdge(Edge[Webhook]):
    pass


@strawberry.type(description="A page of webhooks.")
class WebhookConnection(CountedConnection[WebhookEdge]):
    pass


@strawberry.type(description="A delivery in a page.")
class WebhookDeliveryEdge(Edge[WebhookDelivery]):
    pass


@strawberry.type(description="A page of deliveries.")
class WebhookDeliveryConnection(CountedConnection[WebhookDeliveryEdge]):
    pass


@strawberry.input(description="A new webhook.")
class WebhookInput:
    url: str = strawberry.field(
        description="https:// (http:// only to addresses KAI_EGRESS_ALLOWED_NETWORKS names)."
    )
    description: str | None = strawberry.field(default=None, description="Up to 500 characters.")
    event_types: list[AgentEventType] | None = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="Event types to deliver; empty or null: all."
    )
    agent_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Your agents to watch (up to 100); null or empty: all of them."
    )
    active: bool | None = strawberry.field(default=True, description="False: made switched off.")


@strawberry.input(description="Changes to a webhook; what is left out stays.")
class WebhookPatch:
    url: str | None = strawberry.field(default=None, description="A new endpoint.")
    description: str | None = strawberry.field(default=None, description="A new note.")
    event_types: list[AgentEventType] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="New event types; empty: all."
    )
    agent_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="New agents to watch; empty: all of yours."
    )
    active: bool | None = strawberry.field(
        default=None, description="Switch it off, or on again (which also forgets a 410)."
    )
