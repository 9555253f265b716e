"""`kai`'s commands for people using a kAI server, on kai_sdk.client.KaiClient:
`kai login`, `kai agents list`, `kai send`, `kai prompt`, `kai chat`, `kai events
--follow`, `kai tasks watch`, `kai approvals approve`, `kai schedules create`, `kai
webhooks create`, `kai threads list`, `kai files upload`, `kai keys`, `kai users`, `kai
audit`, ...

They need the client extra (`pip install 'kai-sdk[client]'`). The server's `kai` command
mounts them beside its own (kai/cli.py); with the SDK alone, `python -m kai_sdk.cli`
runs them. This module and the parsers import argparse only: a command's code, and the
client with it, is imported when that command runs. docs/cli.md describes every
command and the exit codes (kai_sdk.cli.exits).
"""

from __future__ import annotations

import argparse
from typing import Any

from kai_sdk.cli.define import Commands, Formatter


def add_commands(subparsers: Any, listing: list[tuple[str, str]]) -> None:
    """Adds the commands for people to `subparsers` (an argparse subparsers action);
    `listing` receives each top-level command's (name, summary)."""
    from kai_sdk.cli import (
        parse_admin,
        parse_agents,
        parse_approvals,
        parse_schedules,
        parse_threads,
        parse_webhooks,
        parse_work,
    )

    commands = Commands(subparsers, listing)
    parse_agents.add_session(commands)
    parse_agents.add_agents(commands)
    parse_agents.add_live(commands)
    parse_threads.add_chat(commands)
    parse_work.add_tasks(commands)
    parse_approvals.add_approvals(commands)
    parse_schedules.add_schedules(commands)
    parse_webhooks.add_webhooks(commands)
    parse_threads.add_threads(commands)
    parse_work.add_files(commands)
    parse_admin.add_keys(commands)
    parse_admin.add_users(commands)
    parse_admin.add_audit(commands)


def listing_text(title: str, listing: list[tuple[str, str]]) -> str:
    """A titled list of commands and their summaries, aligned, for a parser's help."""
    width = max(len(name) for name, _ in listing)
    lines = [f"  {name:<{width}}  {summary}" for name, summary in listing]
    return "\n".join([title, *lines])


def parser() -> argparse.ArgumentParser:
    """The commands for people alone (`python -m kai_sdk.cli`)."""
    found = argparse.ArgumentParser(
        prog="kai",
        description="kAI's command line for people using a kAI server.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = found.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing: list[tuple[str, str]] = []
    add_commands(commands, listing)
    found.epilog = listing_text("commands:", listing)
    return found


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130


__all__ = ["Formatter", "add_commands", "listing_text", "main", "parser"]
