"""`kai webhooks list|show|create|update|rotate|test|redeliver|replay|delete`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import CliClient, agent_id, client
from kai_sdk.cli.exits import not_found, usage
from kai_sdk.cli.output import Column
from kai_sdk.client.sync import AgentEventType, WebhookInput, WebhookPatch
from kai_sdk.client.sync.fragments import WebhookDeliveryFields, WebhookFields

# Said on stderr before a secret, which alone goes to stdout.
SECRET_ONCE = (
    "its signing secret, shown this once: it will not be shown again "
    "(`kai webhooks rotate` makes a new one):"
)


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda w: w.id),
        Column("URL", lambda w: w.url, shrink=True),
        Column("EVENTS", event_types, shrink=True),
        Column("AGENTS", agents, shrink=True, optional=True),
        Column("STATE", state),
        Column("DESCRIPTION", lambda w: w.description, shrink=True, optional=True),
        Column("CREATED", lambda w: output.when(w.created_at, args), optional=True),
    ]


def delivery_columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda d: d.id),
        Column("SEQ", lambda d: d.event_seq),
        Column("TYPE", lambda d: d.event_type),
        Column("AGENT", lambda d: d.agent.name, shrink=True, optional=True),
        Column("STATE", lambda d: d.state),
        Column("ATTEMPTS", lambda d: d.attempts),
        Column("STATUS", lambda d: d.last_status_code),
        Column("ERROR", lambda d: d.last_error, shrink=True),
        Column("NEXT ATTEMPT", lambda d: output.when(d.next_attempt_at, args), optional=True),
        Column("CREATED", lambda d: output.when(d.created_at, args), optional=True),
    ]


def event_types(webhook: WebhookFields) -> str:
    """The event types it delivers: `all`, or their names."""
    return ",".join(kind.value for kind in webhook.event_types) or "all"


def agents(webhook: WebhookFields) -> str:
    """The agents it watches: `all` (every agent of the owner's), or their names."""
    if webhook.agents is None:
        return "all"
    return ",".join(agent.name for agent in webhook.agents) or "none"


def state(webhook: WebhookFields) -> str:
    """active, or paused (by its owner, or by the server after the endpoint said 410)."""
    return "active" if webhook.active else "paused"


def list_webhooks(args: argparse.Namespace) -> int:
    with client(args) as kai:
        webhooks: list[WebhookFields] = pages.nodes(
            args,
            lambda first, after: kai.webhooks(first=first, after=after, with_total=True).webhooks,
            lambda: kai.iter_webhooks(),
        )
    if args.json:
        output.emit_json(webhooks)
    else:
        output.table(webhooks, columns(args))
    return 0


def show_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        webhook = kai.webhook(
            args.webhook,
            with_deliveries=True,
            failed_only=args.failed,
            recent_deliveries=args.deliveries,
        ).webhook
    if webhook is None:
        raise not_found(f"no webhook {args.webhook!r}")
    if args.json:
        output.emit_json(webhook)
        return 0
    output.details(_details(webhook, args))
    found = webhook.deliveries
    which = "failed deliveries" if args.failed else "deliveries"
    if found is None or not found.edges:
        print(f"\nno {which}" if args.failed else "\nno deliveries yet")
        return 0
    print(f"\n{which} ({len(found.edges)} of {found.total_count}, newest first):")
    output.table([edge.node for edge in found.edges], delivery_columns(args))
    return 0


def _details(webhook: WebhookFields, args: argparse.Namespace) -> list[tuple[str, Any]]:
    watched = (
        "all of the owner's"
        if webhook.agents is None
        else ", ".join(f"{agent.name} ({agent.id})" for agent in webhook.agents) or "none"
    )
    return [
        ("id", webhook.id),
        ("url", webhook.url),
        ("description", webhook.description),
        ("events", event_types(webhook)),
        ("agents", watched),
        ("state", state(webhook)),
        ("created", output.when(webhook.created_at, args)),
    ]


def _changes(args: argparse.Namespace, kai: CliClient) -> dict[str, Any]:
    """What the options give: the URL, description, eventTypes, agentIds (ids for names)."""
    given: dict[str, Any] = {}
    if args.endpoint is not None:
        given["url"] = args.endpoint
    if args.description is not None:
        given["description"] = args.description
    if args.event_type:
        given["eventTypes"] = [AgentEventType(kind) for kind in dict.fromkeys(args.event_type)]
    if args.agent:
        given["agentIds"] = [agent_id(kai, ref) for ref in dict.fromkeys(args.agent)]
    return given


def _print_secret(secret: str) -> None:
    print(SECRET_ONCE, file=sys.stderr)
    print(secret)


def create_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        given = _changes(args, kai) | {"active": not args.paused}
        created = kai.create_webhook(WebhookInput.model_validate(given)).create_webhook
    if args.json:
        output.emit_json(created)
        return 0
    webhook = created.webhook
    print(f"webhook {webhook.id} created ({_summary(webhook)}): {webhook.url}")
    _print_secret(created.secret)
    return 0


def _summary(webhook: WebhookFields) -> str:
    """`active, every event of every agent`, `paused, COMMAND_RESULT of clock`, ..."""
    kinds = "every event" if not webhook.event_types else event_types(webhook)
    watched = "every agent" if webhook.agents is None else agents(webhook)
    return f"{state(webhook)}, {kinds} of {watched}"


def update_webhook(args: argparse.Namespace) -> int:
    if not any(
        (args.endpoint is not None, args.description is not None, args.event_type, args.agent)
    ) and not any((args.all_event_types, args.all_agents, args.active, args.paused)):
        raise usage(
            "nothing to change: give --endpoint, --description, --event-type, --agent, "
            "--all-event-types, --all-agents, --active or --paused"
        )
    with client(args) as kai:
        patch = _changes(args, kai)
        if args.all_event_types:
            patch["eventTypes"] = []
        if args.all_agents:
            patch["agentIds"] = []
        if args.active or args.paused:
            patch["active"] = bool(args.active)
        webhook = kai.update_webhook(
            args.webhook, WebhookPatch.model_validate(patch)
        ).update_webhook
    if args.json:
        output.emit_json(webhook)
    else:
        print(f"webhook {webhook.id} updated ({_summary(webhook)}): {webhook.url}")
    return 0


def rotate_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        rotated = kai.rotate_webhook_secret(args.webhook).rotate_webhook_secret
    if args.json:
        output.emit_json(rotated)
        return 0
    print(
        f"webhook {rotated.webhook.id} has a new signing secret; the old one keeps signing "
        "beside it for 24 hours"
    )
    _print_secret(rotated.secret)
    return 0


def _delivery(delivery: WebhookDeliveryFields) -> str:
    return f"delivery {delivery.id} (seq {delivery.event_seq}, {delivery.event_type.value})"


def _paused(webhook_id: str) -> None:
    """Says on stderr that nothing is sent while the webhook is paused."""
    print(
        f"kai: webhook {webhook_id} is paused: nothing is sent until "
        f"`kai webhooks update {webhook_id} --active`",
        file=sys.stderr,
    )


def test_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        delivery = kai.test_webhook(args.webhook).test_webhook
    if args.json:
        output.emit_json(delivery)
    else:
        print(
            f"test {_delivery(delivery)} queued: see it with kai webhooks show "
            f"{delivery.webhook.id}"
        )
    if not delivery.webhook.active:
        _paused(delivery.webhook.id)
    return 0


def redeliver_delivery(args: argparse.Namespace) -> int:
    with client(args) as kai:
        delivery = kai.redeliver_webhook(args.delivery).redeliver_webhook
    if args.json:
        output.emit_json(delivery)
    else:
        print(f"{_delivery(delivery)} of webhook {delivery.webhook.id} queued to be sent again")
    if not delivery.webhook.active:
        _paused(delivery.webhook.id)
    return 0


def replay_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = agent_id(kai, args.agent)
        queued = kai.replay_webhook(args.webhook, agent, args.after).replay_webhook
        webhook = kai.webhook(args.webhook).webhook
    if args.json:
        output.emit_json({"queued": queued})
    else:
        events = "event" if queued == 1 else "events"
        print(
            f"{queued} {events} of agent {args.agent} after seq {args.after} queued for "
            f"webhook {args.webhook}"
        )
    if queued and webhook is not None and not webhook.active:
        _paused(webhook.id)
    return 0


def delete_webhook(args: argparse.Namespace) -> int:
    with client(args) as kai:
        deleted = kai.delete_webhook(args.webhook).delete_webhook
    if args.json:
        output.emit_json({"deleted": deleted})
    else:
        print(f"webhook {deleted} deleted")
    return 0
