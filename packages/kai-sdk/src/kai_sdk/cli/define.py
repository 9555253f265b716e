"""How the commands for people are declared: argparse parsers, each leaf with the
options every command shares (--url, --json, --iso) and a `run` imported only when it
runs (kai_sdk.cli.run.handler)."""

from __future__ import annotations

import argparse
from typing import Any

from kai_sdk.cli.run import handler

EPILOG = (
    "The server is --url, else KAI_URL, else http://127.0.0.1:8000; the credential is "
    "KAI_API_KEY, else what `kai login` stored for that server. Exit codes: 0 done, 1 "
    "failed, 2 usage, 3 not signed in, 4 FORBIDDEN, 5 NOT_FOUND, 6 input refused, 7 rate "
    "or quota limit, 8 server unreachable, 9 agent unavailable (docs/cli.md)."
)


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Says an option's default when it has one worth saying (not None, False or [])."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, []) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class Commands:
    """Adds commands to a subparsers action; `listing` collects the top level's
    (name, summary) pairs for `kai --help`."""

    def __init__(self, subparsers: Any, listing: list[tuple[str, str]] | None = None) -> None:
        self.subparsers = subparsers
        self.listing = listing

    def _parser(self, name: str, summary: str, description: str) -> argparse.ArgumentParser:
        options: dict[str, Any] = {"help": summary}
        if self.listing is not None:
            # The top level lists its commands itself, in groups (`kai --help`).
            self.listing.append((name, summary))
            options = {}
        parser: argparse.ArgumentParser = self.subparsers.add_parser(
            name, description=description, epilog=EPILOG, formatter_class=Formatter, **options
        )
        return parser

    def group(self, name: str, summary: str, description: str) -> Commands:
        """A command of commands (`kai agents list`)."""
        parser = self._parser(name, summary, description)
        inner = parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")
        return Commands(inner)

    def leaf(
        self, name: str, summary: str, description: str, run: tuple[str, str]
    ) -> argparse.ArgumentParser:
        """A command that runs kai_sdk.cli.<run[0]>.<run[1]>(args)."""
        parser = self._parser(name, summary, description)
        shared = parser.add_argument_group("shared options")
        shared.add_argument(
            "--url", help="the server, e.g. https://kai.example (default: KAI_URL, else local)"
        )
        shared.add_argument(
            "--json", action="store_true", help="print JSON for programs (JSON lines for streams)"
        )
        shared.add_argument(
            "--iso", action="store_true", help="times as ISO 8601 (UTC), not relative to now"
        )
        parser.set_defaults(run=handler(*run), handler_name=".".join(run))
        return parser


def paging(parser: argparse.ArgumentParser, default: int = 50) -> None:
    """--limit, --all and --after for a list."""
    parser.add_argument(
        "--limit", type=positive, default=default, help="at most this many (one page)"
    )
    parser.add_argument("--all", action="store_true", help="every one, page after page")
    parser.add_argument("--after", metavar="CURSOR", help="start after this cursor")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def json_value(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


def json_object(text: str) -> dict[str, Any]:
    value = json_value(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"n\": 1}'")
    return value


def moment(text: str) -> Any:
    """An ISO 8601 time (a datetime); one without an offset is this machine's local time."""
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {text!r} (e.g. 2026-05-01T09:00:00+02:00)"
        ) from None
    return value if value.tzinfo is not None else value.astimezone()
