from __future__ import annotations

from typing import Annotated

import strawberry

from kai.context import Info
from kai.errors import BadUserInput
from kai.models.webhook import Webhook as WebhookRow
from kai.models.webhook import WebhookDelivery as DeliveryRow
from kai.resolvers.agent import load_agent
from kai.schema.pagination import After, First
from kai.schema.webhook import (
    Webhook,
    WebhookConnection,
    WebhookCreated,
    WebhookDelivery,
    WebhookEdge,
    WebhookInput,
    WebhookPatch,
)
from kai.services.webhook import WebhookChanges

WebhookId = Annotated[strawberry.ID, strawberry.argument(description="The webhook's id.")]


async def load_webhook(info: Info, webhook_id: str) -> WebhookRow:
    """The webhook, if the caller may manage it (its owner, or ADMIN); else FORBIDDEN or
    NOT_FOUND, audited."""
    row = await info.context.services.webhooks.get(webhook_id=webhook_id)
    await info.context.authorize(
        "webhook.manage",
        resource=f"webhook:{webhook_id}",
        owner_id=row.owner_id if row is not None else None,
        found=row is not None,
    )
    assert row is not None
    return row


async def load_delivery(info: Info, delivery_id: str) -> DeliveryRow:
    services = info.context.services
    row = await services.webhooks.get_delivery(delivery_id=delivery_id)
    webhook = await services.webhooks.get(webhook_id=row.webhook_id) if row is not None else None
    await info.context.authorize(
        "webhook.manage",
        resource=f"webhook_delivery:{delivery_id}",
        owner_id=webhook.owner_id if webhook is not None else None,
        found=webhook is not None,
    )
    assert row is not None
    return row


def _changes(given: WebhookInput | WebhookPatch) -> WebhookChanges:
    return WebhookChanges(
        url=given.url,
        description=given.description,
        # The enum's members are the model's StrEnum: each is its value.
        event_types=None if given.event_types is None else [str(t) for t in given.event_types],
        agent_ids=None if given.agent_ids is None else [str(a) for a in given.agent_ids],
        active=given.active,
    )


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The caller's webhooks (everyone's for ADMIN), newest first.")
    async def webhooks(
        self, info: Info, first: First = 50, after: After = None
    ) -> WebhookConnection:
        principal = await info.context.authorize("webhook.manage", resource="webhook:*")
        page = await info.context.services.webhooks.page(
            principal=principal, first=first, after=after
        )
        return WebhookConnection.of(page, WebhookEdge, Webhook.from_row)

    @strawberry.field(description="One webhook, if the caller may manage it.")
    async def webhook(self, info: Info, id: WebhookId) -> Webhook | None:
        return Webhook.from_row(await load_webhook(info, str(id)))


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Registers an endpoint for the caller's agent events; the answer holds "
        "its signing secret, shown once. Past KAI_QUOTA_WEBHOOKS_PER_USER, QUOTA_EXCEEDED."
    )
    async def create_webhook(
        self,
        info: Info,
        input: Annotated[WebhookInput, strawberry.argument(description="Where, and what.")],
    ) -> WebhookCreated:
        principal = await info.context.authorize("webhook.manage", resource="webhook:*")
        row, secret = await info.context.services.webhooks.create(
            owner_id=principal.user_id, changes=_changes(input)
        )
        return WebhookCreated(webhook=Webhook.from_row(row), secret=secret)

    @strawberry.mutation(description="Changes a webhook.")
    async def update_webhook(
        self,
        info: Info,
        id: WebhookId,
        input: Annotated[WebhookPatch, strawberry.argument(description="What to change.")],
    ) -> Webhook:
        row = await load_webhook(info, str(id))
        updated = await info.context.services.webhooks.update(webhook=row, changes=_changes(input))
        return Webhook.from_row(updated)

    @strawberry.mutation(description="Deletes a webhook and its deliveries; returns its id.")
    async def delete_webhook(self, info: Info, id: WebhookId) -> strawberry.ID:
        row = await load_webhook(info, str(id))
        await info.context.services.webhooks.delete(webhook_id=row.id)
        return strawberry.ID(row.id)

    @strawberry.mutation(
        description="A new secret; the old one keeps signing (both signatures sent) for 24 hours."
    )
    async def rotate_webhook_secret(self, info: Info, id: WebhookId) -> WebhookCreated:
        row = await load_webhook(info, str(id))
        rotated, secret = await info.context.services.webhooks.rotate(webhook=row)
        return WebhookCreated(webhook=Webhook.from_row(rotated), secret=secret)

    @strawberry.mutation(
        description="Sends a synthetic event now (seq 0, data.test true, as one of its agents') "
        "and returns its delivery; BAD_USER_INPUT when it has no agent to send it as. A "
        "switched-off webhook's deliveries wait until it is active again."
    )
    async def test_webhook(self, info: Info, id: WebhookId) -> WebhookDelivery:
        row = await load_webhook(info, str(id))
        return WebhookDelivery.from_row(await info.context.services.webhooks.test(webhook=row))

    @strawberry.mutation(
        description="Sends a delivery again, now, with the same webhook-id: one more attempt "
        "(attempts keeps counting, so one whose retries were used up is not retried again "
        "if this attempt fails too)."
    )
    async def redeliver_webhook(
        self,
        info: Info,
        delivery_id: Annotated[strawberry.ID, strawberry.argument(description="The delivery.")],
    ) -> WebhookDelivery:
        row = await load_delivery(info, str(delivery_id))
        again = await info.context.services.webhooks.redeliver(delivery=row)
        return WebhookDelivery.from_row(again)

    @strawberry.mutation(
        description="Queues every stored event of the agent with seq > after for this webhook "
        "again; returns how many. Each is a new delivery with a new webhook-id: a receiver "
        "recognises a replayed event by its agentId and seq. It reaches as far back as the "
        "event log's retention (KAI_EVENT_RETENTION_SECONDS, KAI_EVENT_RETENTION_COUNT). "
        "QUOTA_EXCEEDED, queueing none, when the webhook would have over 10,000 pending."
    )
    async def replay_webhook(
        self,
        info: Info,
        id: WebhookId,
        agent_id: Annotated[strawberry.ID, strawberry.argument(description="Whose events.")],
        after: Annotated[int, strawberry.argument(description="Replay the events after this seq.")],
    ) -> int:
        row = await load_webhook(info, str(id))
        agent = await load_agent(info, str(agent_id), "agent.read")
        if agent.owner_id != row.owner_id or (
            row.agent_ids is not None and agent.id not in row.agent_ids
        ):
            raise BadUserInput("This webhook does not watch that agent.", field="agentId")
        if after < 0:
            raise BadUserInput("after is a seq: 0 or more.", field="after")
        return await info.context.services.webhooks.replay(
            webhook=row, agent_id=agent.id, after=after
        )
