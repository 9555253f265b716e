"""The commands' arguments: webhooks."""

from __future__ import annotations

from typing import Any

from kai_sdk.cli.define import Commands, paging, positive
from kai_sdk.cli.parse_work import AGENT

# graphql.schema's AgentEventType (tests/test_cli_webhooks.py checks they agree).
EVENT_TYPES = (
    "STATUS_UPDATE",
    "LOG",
    "STREAM_CHUNK",
    "ERROR",
    "COMMAND_RESULT",
    "TASK_PROGRESS",
    "TASK_COMPLETE",
    "APPROVAL_REQUESTED",
    "APPROVAL_DECIDED",
    "MESSAGE",
)
WEBHOOK = "the webhook's id (whk_…)"

# Commands that take a webhook and nothing else: (name, summary, description).
ON_ONE = (
    (
        "rotate",
        "a new signing secret (shown once)",
        "Give the webhook a new signing secret, printed once; the old one keeps signing "
        "beside it for 24 hours, so a receiver can switch without missing a delivery.",
    ),
    (
        "test",
        "send a test event now",
        "Send a synthetic event now (seq 0, data.test true, as one of its agents'); "
        "`kai webhooks show` then shows how the endpoint answered.",
    ),
)


def add_webhooks(commands: Commands) -> None:
    webhooks = commands.group(
        "webhooks",
        "endpoints your agents' events are POSTed to, signed",
        "Webhooks: each event of your agents that a webhook wants is POSTed to its URL, "
        "signed per the Standard Webhooks spec, retried until the endpoint takes it.",
    )
    listed = webhooks.leaf(
        "list",
        "list webhooks",
        "Your webhooks (every one for an ADMIN), newest first.",
        ("webhooks", "list_webhooks"),
    )
    paging(listed)

    show = webhooks.leaf(
        "show",
        "a webhook and its deliveries",
        "One webhook and its deliveries, newest first: each event's seq and type, where "
        "its delivery is, the attempts and how the endpoint last answered.",
        ("webhooks", "show_webhook"),
    )
    show.add_argument("webhook", metavar="ID", help=WEBHOOK)
    show.add_argument("--failed", action="store_true", help="only deliveries given up on")
    show.add_argument("--deliveries", type=positive, default=20, help="how many, 1 to 500")

    _create(webhooks)
    _update(webhooks)
    for name, summary, description in ON_ONE:
        leaf = webhooks.leaf(name, summary, description, ("webhooks", f"{name}_webhook"))
        leaf.add_argument("webhook", metavar="ID", help=WEBHOOK)
    _again(webhooks)
    delete = webhooks.leaf(
        "delete",
        "delete a webhook",
        "Delete a webhook and its deliveries, sent or not.",
        ("webhooks", "delete_webhook"),
    )
    delete.add_argument("webhook", metavar="ID", help=WEBHOOK)


def _create(webhooks: Commands) -> None:
    create = webhooks.leaf(
        "create",
        "a new webhook (its secret shown once)",
        "A new webhook: every event of every agent of yours unless --event-type or --agent "
        "say otherwise. Its signing secret is printed once.",
        ("webhooks", "create_webhook"),
    )
    # The endpoint is positional: --url is every command's server (kai_sdk.cli.define).
    create.add_argument(
        "endpoint", metavar="URL", help="where to POST: https://… (http:// to allowed networks)"
    )
    create.add_argument("--description", help="a note, up to 500 characters")
    _event_types(create)
    create.add_argument("--agent", action="append", help=f"only this agent ({AGENT}; repeat)")
    create.add_argument("--paused", action="store_true", help="made paused: nothing is sent")


def _update(webhooks: Commands) -> None:
    update = webhooks.leaf(
        "update",
        "change a webhook",
        "Change what is given; the rest stays. --event-type and --agent replace the lists.",
        ("webhooks", "update_webhook"),
    )
    update.add_argument("webhook", metavar="ID", help=WEBHOOK)
    update.add_argument("--endpoint", metavar="URL", help="a new URL to POST to")
    update.add_argument("--description", help="a new note ('' removes it)")
    kinds = update.add_mutually_exclusive_group()
    _event_types(kinds)
    kinds.add_argument(
        "--all-event-types", action="store_true", help="every event type again (no filter)"
    )
    agents = update.add_mutually_exclusive_group()
    agents.add_argument("--agent", action="append", help=f"only this agent ({AGENT}; repeat)")
    agents.add_argument("--all-agents", action="store_true", help="every agent of yours again")
    active = update.add_mutually_exclusive_group()
    active.add_argument(
        "--active", action="store_true", help="send again (also after a 410 switched it off)"
    )
    active.add_argument("--paused", action="store_true", help="send nothing while paused")


def _again(webhooks: Commands) -> None:
    redeliver = webhooks.leaf(
        "redeliver",
        "send a delivery again",
        "Send one delivery again now, with the same webhook-id (receivers that took it "
        "already recognise it).",
        ("webhooks", "redeliver_delivery"),
    )
    redeliver.add_argument(
        "delivery", metavar="DELIVERY_ID", help="the delivery's id (whd_…, from webhooks show)"
    )
    replay = webhooks.leaf(
        "replay",
        "send an agent's past events again",
        "Queue every stored event of the agent after a seq for the webhook again, as far "
        "back as the event log keeps them; says how many.",
        ("webhooks", "replay_webhook"),
    )
    replay.add_argument("webhook", metavar="ID", help=WEBHOOK)
    replay.add_argument("--agent", required=True, help=AGENT)
    replay.add_argument(
        "--after", required=True, type=int, metavar="SEQ", help="the events after this seq"
    )


def _event_types(parser: Any) -> None:
    """--event-type on `parser` (a parser, or a group of options that exclude each other)."""
    parser.add_argument(
        "--event-type",
        action="append",
        choices=EVENT_TYPES,
        metavar="TYPE",
        help="only events of this type: " + ", ".join(EVENT_TYPES) + " (repeat)",
    )
