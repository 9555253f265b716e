"""Running one command for people: its module is imported only when it runs (so
`kai --help` and the server's commands never load the client), and whatever it raises
becomes one line on stderr and an exit code (kai_sdk.cli.exits)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from kai_sdk.cli.exits import FAILED, INTERRUPTED, OK, UNREACHABLE, CliError

if TYPE_CHECKING:
    from kai_sdk.client.errors import KaiClientError, KaiError

Handler = Callable[[argparse.Namespace], int]


def handler(module: str, function: str) -> Handler:
    """The `run` of a parser: kai_sdk.cli.<module>.<function>(args), imported when run."""

    def run(args: argparse.Namespace) -> int:
        return invoke(module, function, args)

    return run


def invoke(module: str, function: str, args: argparse.Namespace) -> int:
    try:
        code = _call(module, function, args)
        sys.stdout.flush()
        return code
    except CliError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`kai agents list | head -1`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK


def _call(module: str, function: str, args: argparse.Namespace) -> int:
    if "httpx" not in sys.modules:
        # httpx loads its own command line (click, rich, pygments) when they are
        # installed: a fifth of a second that this process, which never runs it, skips.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        target = getattr(importlib.import_module(f"kai_sdk.cli.{module}"), function)
    except ModuleNotFoundError as exc:
        if exc.name in {"httpx", "pydantic"}:
            raise CliError(
                f"this command needs {exc.name}: pip install 'kai-sdk[client]'"
            ) from None
        raise
    from kai_sdk.cli.store import CredentialsError
    from kai_sdk.client.errors import KaiClientError

    try:
        return int(target(args) or 0)
    except KaiClientError as exc:
        raise client_failure(exc, args) from None
    except CredentialsError as exc:
        raise CliError(str(exc)) from None


def _fail(exc: CliError) -> int:
    sys.stdout.flush()
    print(exc.line(), file=sys.stderr)
    return exc.exit_code


def client_failure(exc: KaiClientError, args: argparse.Namespace) -> CliError:
    """The line and exit code for what the client raised."""
    from kai_sdk.client.errors import KaiConnectionError, KaiError, KaiProtocolError

    if isinstance(exc, KaiError):
        return CliError(_explained(exc, args), code=exc.code)
    if isinstance(exc, KaiConnectionError):
        return CliError(_unreachable(exc, args), code="UNREACHABLE", exit_code=UNREACHABLE)
    if isinstance(exc, KaiProtocolError):
        return CliError(f"not a GraphQL answer: {exc}", exit_code=FAILED)
    return CliError(str(exc))


def _explained(exc: KaiError, args: argparse.Namespace) -> str:
    message = exc.message.rstrip(".")
    code = exc.code
    if code == "UNAUTHENTICATED" and getattr(args, "handler_name", "") != "account.login":
        if os.environ.get("KAI_API_KEY"):
            return f"{message} (the API key in KAI_API_KEY)"
        return f"{message}; sign in again: kai login --url {_url(args)}"
    if code == "FORBIDDEN":
        permission = exc.extensions.get("permission")
        if isinstance(permission, str) and permission not in message:
            return f"{message} (needs {permission})"
    if code == "RATE_LIMITED":
        retry_after = exc.extensions.get("retryAfter")
        if isinstance(retry_after, int | float) and "retry" not in message.lower():
            return f"{message} (try again in {retry_after:g} s)"
    if code == "BAD_USER_INPUT":
        field = exc.extensions.get("field")
        if isinstance(field, str) and field not in message:
            return f"{message} ({field})"
    return message


def _unreachable(exc: BaseException, args: argparse.Namespace) -> str:
    text = str(exc)
    if not text.startswith("cannot reach"):
        return text  # a connection that dropped mid-way says so itself
    cause: BaseException | None = exc.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    reason = str(cause) if cause is not None and str(cause) else text
    return f"cannot reach {_url(args)} ({reason}); is the server running? (--url, KAI_URL)"


def _url(args: argparse.Namespace) -> str:
    from kai_sdk.cli.connect import server_url

    return server_url(args)
