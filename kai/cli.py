"""`kai`: the commands for people using a server (login, agents, send, prompt, events,
tasks, files, keys, users, audit: kai_sdk.cli, on the typed client) and those for running
one (serve, worker, migrate, export-schema, create-admin, agent run).

The server's modules are imported only by its own commands, when they run: `kai agents
list` loads the client and argparse, nothing of the server (docs/cli.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from textwrap import fill
from typing import TYPE_CHECKING, Any

from kai_sdk.cli import Formatter, add_commands, listing_text

if TYPE_CHECKING:
    from kai.config import Settings


SETTINGS_NOTE = (
    "Settings come from KAI_* environment variables and a .env file in the current "
    "directory (every one is listed in docs/settings.md)."
)
PEOPLE = "for people using a server (--url or KAI_URL; docs/cli.md):"
OPERATORS = "for running a server and its agents (KAI_* settings; docs/settings.md):"


Command = Callable[[str, str, str], argparse.ArgumentParser]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130


class _Version(argparse.Action):
    """`kai --version`, reading the installed release only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("nargs", 0)
        kwargs.setdefault("default", argparse.SUPPRESS)
        kwargs.setdefault("help", "print kai's release and exit")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from kai.config import release

        sys.stdout.write(f"kai {release()}\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kai",
        description="kAI: the API that people and programs use to run a fleet of AI agents.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of the commands below"
    )
    people: list[tuple[str, str]] = []
    add_commands(commands, people)
    operators: list[tuple[str, str]] = []

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        operators.append((name, summary))
        return commands.add_parser(
            name, description=description, epilog=SETTINGS_NOTE, formatter_class=Formatter
        )

    _add_process_commands(command)
    _add_database_commands(command)
    _add_agent_commands(commands, operators)
    parser.epilog = "\n\n".join(
        [listing_text(PEOPLE, people), listing_text(OPERATORS, operators), fill(SETTINGS_NOTE)]
    )
    return parser


def _add_process_commands(command: Command) -> None:
    serve = command(
        "serve",
        "run the API server",
        "Serve the GraphQL API at /graphql, the console at / and GraphiQL (development) on "
        "one port. In development the database is migrated first; production refuses "
        "unsafe settings and a database behind this release.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.set_defaults(run=_serve)

    worker = command(
        "worker",
        "run background tasks from Redis (KAI_REDIS_URL)",
        "Run tasks that servers put on the Redis task queue (KAI_REDIS_URL), with "
        "KAI_TASK_CONCURRENCY at once unless --concurrency says otherwise.",
    )
    worker.add_argument(
        "--concurrency", type=int, help="tasks run at once (default: KAI_TASK_CONCURRENCY)"
    )
    worker.add_argument(
        "--grace-seconds",
        type=float,
        default=10.0,
        help="on SIGTERM, how long running tasks may finish before they are handed back",
    )
    worker.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on this port (GET /metrics)"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    worker.set_defaults(run=_worker)


def _add_database_commands(command: Command) -> None:
    migrate = command(
        "migrate",
        "bring the database schema up to date",
        "Apply the database migrations this release carries (KAI_DATABASE_URL).",
    )
    migrate.set_defaults(run=_migrate)

    export = command(
        "export-schema",
        "print the GraphQL schema (SDL)",
        "Print the schema that `kai serve` serves, as SDL (graphql.schema is this output).",
    )
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(run=_export_schema)

    admin = command(
        "create-admin",
        "create an ADMIN (password from KAI_ADMIN_PASSWORD or a prompt)",
        "Create an ADMIN account. The password comes from KAI_ADMIN_PASSWORD, or is asked "
        "for twice on a terminal. An existing account is left as it is unless --force.",
    )
    admin.add_argument("--email", required=True, help="the new admin's sign-in address")
    admin.add_argument(
        "--force",
        action="store_true",
        help="if the address has an account: make it ADMIN, active, with this password",
    )
    admin.set_defaults(run=_create_admin)


def _add_agent_commands(commands: Any, listing: list[tuple[str, str]]) -> None:
    listing.append(("agent run", "run a remote agent's process (kai_sdk.RemoteAgent)"))
    agent = commands.add_parser("agent", description="Remote agent processes.")
    agent_commands = agent.add_subparsers(dest="agent_command", required=True, metavar="COMMAND")
    agent_run = agent_commands.add_parser(
        "run",
        help="run a kai_sdk.RemoteAgent (the owner's API key from KAI_API_KEY)",
        description="Attach a kai_sdk.RemoteAgent of yours to an agent of type remote, "
        "signed in with the owner's API key from KAI_API_KEY.",
        formatter_class=Formatter,
    )
    agent_run.add_argument("target", help="module:attribute, e.g. examples.echo_remote:agent")
    agent_run.add_argument("--url", required=True, help="the kAI server, e.g. https://kai.example")
    agent_run.add_argument("--agent-id", required=True)
    agent_run.add_argument("--heartbeat-seconds", type=float, help="default: the agent's own")
    agent_run.add_argument("--max-backoff-seconds", type=float, help="cap of reconnect delays")
    agent_run.set_defaults(run=_agent_run)


def _settings() -> Settings:
    """The settings, or a one-line refusal per problem; a KAI_* variable that is not a
    setting is warned about (a typo would leave its setting at the default unnoticed),
    and refused in production."""
    from pydantic import ValidationError

    from kai.config import Settings
    from kai.jwt_secret import UnsafeSettingsError
    from kai.preflight import unknown_variables

    try:
        settings = Settings()
    except UnsafeSettingsError as exc:
        raise SystemExit(f"kai: {exc}") from None
    except ValidationError as exc:
        problems = [
            f"kai: KAI_{'_'.join(str(part) for part in error['loc']).upper()}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        ]
        raise SystemExit("\n".join(problems)) from None
    unknown = unknown_variables(os.environ)
    if unknown and settings.is_production:
        raise SystemExit("kai: refusing to start in production: " + "; ".join(unknown))
    for line in unknown:
        print(f"kai: warning: {line}; it is ignored", file=sys.stderr)
    return settings


def _on_a_terminal() -> bool:
    """Whether a person can be asked (getpass would otherwise fail with EOFError)."""
    return sys.stdin.isatty()


def _check_services(settings: Settings, *, database: bool = True) -> None:
    import asyncio

    from kai.preflight import PreflightError, check_services

    try:
        asyncio.run(check_services(settings, database=database))
    except PreflightError as exc:
        raise SystemExit(f"kai: {exc}") from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kai import logs
    from kai.app import create_app
    from kai.shutdown import GracefulServer

    settings = _settings()
    _check_services(settings)
    logs.configure(settings.log_level, json_lines=settings.json_logs)
    listen_url = f"http://{_url_host(args.host)}:{args.port}"
    if not settings.is_production and "public_url" not in settings.model_fields_set:
        # Links the server writes (magic links, downloads) point where it listens.
        wildcard = args.host in {"0.0.0.0", "::", ""}  # noqa: S104 (a comparison)
        public = f"http://127.0.0.1:{args.port}" if wildcard else listen_url
        settings = settings.model_copy(update={"public_url": public})
    app = create_app(settings, freeze_heap=True, listen_url=listen_url)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=False,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=settings.ws_compression,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) or None,
        # `server: uvicorn` tells a stranger what to look up exploits for, and no client
        # needs it (docs/security.md H1).
        server_header=False,
    )
    GracefulServer(config, app=app).run()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from kai import logs
    from kai.worker import run_worker

    settings = _settings()
    if not settings.redis_url:
        raise SystemExit("kai: `kai worker` needs KAI_REDIS_URL (tasks on Redis)")
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise SystemExit("kai: --concurrency must be 1 or more")
        settings = settings.model_copy(update={"task_concurrency": args.concurrency})
    if args.grace_seconds < 0:
        raise SystemExit("kai: --grace-seconds must be 0 or more")
    _check_services(settings)
    logs.configure(settings.log_level, json_lines=settings.json_logs)
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        # A thread of its own: scrapes answer even while the event loop is busy.
        start_http_server(args.metrics_port, addr=args.metrics_host)
    asyncio.run(run_worker(settings, grace_seconds=args.grace_seconds))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from kai import migrate
    from kai.db import create_engine

    settings = _settings()
    _check_services(settings)

    async def run() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is up to date")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from kai.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.output:
        args.output.write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    import asyncio
    import getpass

    from kai import migrate
    from kai.container import open_services
    from kai.errors import KaiError
    from kai.security.secrets import same

    settings = _settings()
    password = os.environ.get("KAI_ADMIN_PASSWORD")
    if not password:
        if not _on_a_terminal():
            raise SystemExit(
                "kai: no password: set KAI_ADMIN_PASSWORD, or run create-admin on a terminal"
            )
        password = getpass.getpass("Password: ")
        if not same(password, getpass.getpass("Again: ")):
            raise SystemExit("kai: the passwords differ")
    _check_services(settings)

    async def run() -> tuple[str, str, bool]:
        async with open_services(settings) as services:
            if not settings.is_production:
                await migrate.upgrade(services.engine)
            return await services.users.create_admin(
                email=args.email, password=password, force=args.force
            )

    try:
        email, user_id, created = asyncio.run(run())
    except KaiError as exc:
        raise SystemExit(f"kai: {exc.message}") from None
    if created:
        print(f"admin {email} created ({user_id})")
    else:
        print(f"{email} ({user_id}) is now an active ADMIN with the new password (--force)")
    return 0


def _agent_run(args: argparse.Namespace) -> int:
    import asyncio
    import importlib
    import logging
    import signal

    from kai_sdk import Refused, RemoteAgent

    api_key = os.environ.get("KAI_API_KEY")
    if not api_key:
        raise SystemExit("kai: set KAI_API_KEY to an API key of the agent's owner")
    module_name, _, attribute = args.target.partition(":")
    if not module_name or not attribute:
        raise SystemExit("kai: name the agent as module:attribute, e.g. examples.echo_remote:agent")
    # `kai agent run` finds modules of the directory it runs in, as `python -m` does.
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"kai: cannot import {module_name}: {exc}") from None
    agent = getattr(module, attribute, None)
    if not isinstance(agent, RemoteAgent):
        raise SystemExit(f"kai: {args.target} is not a kai_sdk.RemoteAgent")
    if args.heartbeat_seconds is not None:
        agent.heartbeat_seconds = args.heartbeat_seconds
    if args.max_backoff_seconds is not None:
        agent.backoff_max = args.max_backoff_seconds
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stop)
        await agent.run(url=args.url, agent_id=args.agent_id, api_key=api_key)

    try:
        asyncio.run(run())
    except Refused as exc:
        raise SystemExit(f"kai: {exc}") from None
    except ValueError as exc:
        raise SystemExit(f"kai: {exc}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
