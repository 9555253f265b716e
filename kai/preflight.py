"""What the `kai` commands check before they start: that each backing service the settings
name answers, and that every KAI_* variable in the environment is a setting. A problem is
one line that names the service and the setting to fix, not a page of traceback."""

from __future__ import annotations

import asyncio
import difflib
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url

from kai.config import Settings
from kai.db import create_engine

CHECK_TIMEOUT_SECONDS = 5.0
# KAI_* variables that are not settings: read by commands (create-admin, agent run), by the
# Node.js clients and codegen (KAI_URL, the *_SCHEMA files) and by the test, fuzz and
# benchmark harnesses; none of them configures a server.
OTHER_VARIABLES = frozenset(
    {"KAI_ADMIN_PASSWORD", "KAI_API_KEY", "KAI_URL", "KAI_CLIENTS_SCHEMA", "KAI_CONSOLE_SCHEMA"}
)
OTHER_PREFIXES = ("KAI_TEST_", "KAI_BENCH_", "KAI_FUZZ_")


class PreflightError(Exception):
    """One line for the person who started the command."""


def setting_names() -> frozenset[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return frozenset(f"{prefix}{name}".upper() for name in Settings.model_fields)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each KAI_* variable that no setting reads (a typo leaves the setting
    at its default without a word), with the setting it was probably meant for."""
    known = setting_names()
    lines = []
    for name in sorted(environ):
        if not name.startswith("KAI_") or name in known or name in OTHER_VARIABLES:
            continue
        if name.startswith(OTHER_PREFIXES):
            continue
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        lines.append(f"{name} is not a setting{hint}")
    return lines


def describe_database(settings: Settings) -> str:
    """ "SQLite at .kai/kai.db" or "PostgreSQL at db.internal:5432/kai" (no password)."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite at {url.database}"
    return f"PostgreSQL at {url.host}:{url.port or 5432}/{url.database}"


def _reason(exc: BaseException) -> str:
    """The cause in a few words, from the innermost error the drivers give."""
    while True:
        # SQLAlchemy keeps the driver's error in `orig`; redis-py raises its own while
        # handling the socket's (the context).
        inner = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        if inner is None or inner is exc:
            break
        exc = inner
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    words = str(exc).strip().splitlines()
    return words[0] if words else type(exc).__name__


async def _check_database(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url, pool_pre_ping=False)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        setting = "KAI_DATABASE_URL" if settings.database_url else "KAI_DATA_DIR"
        raise PreflightError(
            f"cannot reach {describe_database(settings)} ({setting}): {_reason(exc)}"
        ) from None
    finally:
        await engine.dispose()


async def _check_redis(url: str, setting: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
    where = urlsplit(url)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await client.ping()
    except Exception as exc:
        raise PreflightError(
            f"cannot reach Redis at {where.hostname}:{where.port or 6379} ({setting}): "
            + _reason(exc)
        ) from None
    finally:
        await client.aclose()


async def check_services(settings: Settings, *, database: bool = True) -> None:
    """Each service the settings name answers now: the database, Redis, the event broker."""
    checks = []
    if database:
        checks.append(_check_database(settings))
    if settings.redis_url:
        checks.append(_check_redis(settings.redis_url, "KAI_REDIS_URL"))
    broker = settings.broadcast_url
    if broker.startswith(("redis://", "rediss://")) and broker != settings.redis_url:
        checks.append(_check_redis(broker, "KAI_BROADCAST_URL"))
    for outcome in await asyncio.gather(*checks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
