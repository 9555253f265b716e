"""`kai threads list|show|delete` (`kai chat` talks in one: kai_sdk.cli.chat)."""

from __future__ import annotations

import argparse

from kai_sdk.cli import output, pages
from kai_sdk.cli.connect import agent_id, client, thread_id
from kai_sdk.cli.exits import not_found
from kai_sdk.cli.output import Column
from kai_sdk.client.sync import OrderDirection, ThreadOrder, ThreadOrderField
from kai_sdk.client.sync.fragments import MessageFields, ThreadFields

# `--order`: the most recently started, or the most recently written to, first.
ORDERS = {"created": ThreadOrderField.CREATED_AT, "updated": ThreadOrderField.UPDATED_AT}


def columns(args: argparse.Namespace) -> list[Column]:
    return [
        Column("ID", lambda t: t.id),
        Column("AGENT", lambda t: t.agent.name, shrink=True),
        Column("TITLE", lambda t: t.title, shrink=True),
        Column("STATE", lambda t: "answering" if t.busy else "idle"),
        Column("LAST WRITTEN", lambda t: output.when(t.updated_at, args)),
        Column("STARTED", lambda t: output.when(t.created_at, args), optional=True),
    ]


def message_columns(args: argparse.Namespace, agent: str) -> list[Column]:
    return [
        Column("SEQ", lambda m: m.seq),
        Column("FROM", lambda m: "you" if m.role.value == "USER" else agent, shrink=True),
        Column("WHEN", lambda m: output.when(m.created_at, args)),
        Column("TEXT", lambda m: m.content + (" [interrupted]" if m.interrupted else "")),
        Column("TOKENS", _tokens, optional=True),
    ]


def _tokens(message: MessageFields) -> str | None:
    usage = message.usage
    if usage is None:
        return None
    return f"{usage.prompt_tokens or 0}+{usage.completion_tokens or 0}"


def list_threads(args: argparse.Namespace) -> int:
    with client(args) as kai:
        agent = agent_id(kai, args.agent) if args.agent else None
        order = ThreadOrder(field=ORDERS[args.order], direction=OrderDirection.DESC)
        threads: list[ThreadFields] = pages.nodes(
            args,
            lambda first, after: (
                kai.threads(
                    agent, first=first, after=after, with_total=True, order_by=order
                ).threads
            ),
            lambda: kai.iter_threads(agent, order),
        )
    if args.json:
        output.emit_json(threads)
    else:
        output.table(threads, columns(args))
    return 0


def show_thread(args: argparse.Namespace) -> int:
    with client(args) as kai:
        ref = thread_id(kai, args.thread)
        thread = kai.thread(ref, with_messages=True, last=args.messages).thread
    if thread is None or thread.messages is None:
        raise not_found(f"no thread {args.thread!r}")
    if args.json:
        output.emit_json(thread)
        return 0
    output.details(
        [
            ("id", thread.id),
            ("agent", f"{thread.agent.name} ({thread.agent.id})"),
            ("title", thread.title),
            ("metadata", thread.metadata),
            ("state", "answering" if thread.busy else "idle"),
            ("started", output.when(thread.created_at, args)),
            ("last written", output.when(thread.updated_at, args)),
            ("messages", thread.messages.total_count),
        ]
    )
    shown = [edge.node for edge in thread.messages.edges]
    if not shown:
        print("\nno messages yet")
        return 0
    print(f"\nmessages ({len(shown)} of {thread.messages.total_count}, oldest first):")
    output.table(shown, message_columns(args, thread.agent.name))
    return 0


def delete_thread(args: argparse.Namespace) -> int:
    with client(args) as kai:
        deleted = kai.delete_thread(thread_id(kai, args.thread)).delete_thread
    if args.json:
        output.emit_json({"deleted": deleted})
    else:
        print(f"thread {deleted} deleted")
    return 0
