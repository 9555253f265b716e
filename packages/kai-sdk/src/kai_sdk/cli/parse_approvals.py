"""The commands' arguments: approvals."""

from __future__ import annotations

import argparse

from kai_sdk.cli.define import Commands, paging, positive
from kai_sdk.cli.parse_agents import AGENT

APPROVAL_STATES = ("PENDING", "APPROVED", "REJECTED", "EXPIRED")
APPROVAL_KINDS = ("COMMAND", "TASK", "ACTION")
APPROVAL = "the approval's id (apr_...)"


def add_approvals(commands: Commands) -> None:
    approvals = commands.group(
        "approvals",
        "decide what agents' approval policies hold for a person",
        "Approvals: commands, tasks and remote agents' questions that wait for a person "
        "(docs/approvals.md). Deciding needs approval.decide on the agent.",
    )
    listed = approvals.leaf(
        "list",
        "list approvals",
        "The approvals of the agents you see (every agent's for an ADMIN), newest first; "
        "the PENDING ones unless --state says otherwise.",
        ("approvals", "list_approvals"),
    )
    _filters(listed)
    listed.add_argument(
        "--state",
        action="append",
        choices=(*APPROVAL_STATES, "all"),
        metavar="STATE",
        help="only approvals in this state: " + ", ".join(APPROVAL_STATES) + ", or all "
        "(repeat; default: PENDING)",
    )
    paging(listed)

    show = approvals.leaf(
        "show",
        "an approval",
        "One approval: what would run, who asked, and how it was decided.",
        ("approvals", "show_approval"),
    )
    show.add_argument("approval", metavar="APPROVAL", help=APPROVAL)

    for verb, summary, description in (
        ("approve", "approve: the work runs", "Let the work it holds go ahead."),
        ("reject", "reject: the work is refused", "Refuse the work it holds; it never runs."),
    ):
        leaf = approvals.leaf(
            verb,
            summary,
            description + " A decision on an approval that was decided already, or "
            "whose time is up, is CONFLICT (exit 6) and changes nothing.",
            ("approvals", f"{verb}_approval"),
        )
        leaf.add_argument("approval", metavar="APPROVAL", help=APPROVAL)
        leaf.add_argument("--reason", help="why, up to 1000 characters; kept with it")

    watch = approvals.leaf(
        "watch",
        "follow new approvals live",
        "The approvals waiting now, then each new one as it is asked (approvalRequests), "
        "until Ctrl-C or --count; after a dropped connection, what was asked meanwhile and "
        "still waits is caught up.",
        ("approvals", "watch_approvals"),
    )
    _filters(watch)
    watch.add_argument(
        "--new-only", action="store_true", help="not those already waiting: only new ones"
    )
    watch.add_argument("--count", type=positive, help="stop after this many approvals")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", help="only this agent's (" + AGENT + ")")
    parser.add_argument(
        "--kind",
        action="append",
        choices=APPROVAL_KINDS,
        metavar="KIND",
        help="only approvals of this kind: " + ", ".join(APPROVAL_KINDS) + " (repeat)",
    )
