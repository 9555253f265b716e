"""The commands' arguments: `kai chat` and `kai threads`."""

from __future__ import annotations

import argparse

from kai_sdk.cli.define import Commands, paging, positive
from kai_sdk.cli.parse_agents import AGENT

THREAD = "the thread: its id, or its title when that names one thread"
ON_BUSY = ("queue", "interrupt", "reject")


def add_chat(commands: Commands) -> None:
    chat = commands.leaf(
        "chat",
        "talk with an agent, the conversation kept",
        "A conversation with an agent in a thread, which keeps it: each line you write "
        "(from stdin) is a message, and the agent's answer is printed as it comes. A new "
        "thread is started, its id printed on stderr to continue it later with --thread; "
        "a thread continued prints its last messages first. Ctrl-C stops the answer being "
        "written (the thread keeps what was said, marked interrupted); /exit or the end "
        "of stdin (Ctrl-D) ends the chat. The exit code is that of the last answer that "
        "failed, if any.",
        ("chat", "chat"),
    )
    chat.add_argument("agent", metavar="AGENT", help=AGENT)
    chat.add_argument(
        "--thread",
        metavar="THREAD",
        help="continue this thread (its id, or its title when that names one thread)",
    )
    chat.add_argument("--title", help="the new thread's title, up to 200 characters")
    chat.add_argument(
        "--history",
        type=non_negative,
        default=10,
        metavar="N",
        help="how many of a continued thread's last messages to print first",
    )
    chat.add_argument(
        "--on-busy",
        choices=ON_BUSY,
        default="queue",
        help="a message sent while the thread answers another (from elsewhere): wait for "
        "it, cut it short, or be refused",
    )


def add_threads(commands: Commands) -> None:
    threads = commands.group(
        "threads",
        "conversations with agents, kept",
        "Threads: conversations with an agent, kept (kai chat talks in one).",
    )
    listed = threads.leaf(
        "list",
        "list threads",
        "Your threads (every one for an ADMIN), the most recently started first, or with "
        "--order updated the most recently written to first (a thread written to while "
        "--all pages through may then be missed or listed twice).",
        ("threads", "list_threads"),
    )
    listed.add_argument("--agent", help="only those with this agent: " + AGENT)
    listed.add_argument(
        "--order",
        choices=("created", "updated"),
        default="created",
        help="created: the most recently started first; updated: the most recently "
        "written to first",
    )
    paging(listed)

    show = threads.leaf(
        "show",
        "a thread and its last messages",
        "One thread and its newest messages, oldest first.",
        ("threads", "show_thread"),
    )
    show.add_argument("thread", metavar="THREAD", help=THREAD)
    show.add_argument("--messages", type=positive, default=20, help="how many, 1 to 500")

    delete = threads.leaf(
        "delete",
        "delete a thread",
        "Delete a thread and its messages.",
        ("threads", "delete_thread"),
    )
    delete.add_argument("thread", metavar="THREAD", help=THREAD)


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value
