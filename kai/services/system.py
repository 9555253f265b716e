"""The deployment as configured and as it answers now: every setting by its variable name
(secrets redacted), and each backing service's role, kind, version and a check made now.
GET /readyz asks the same checks (`checks_for`); the `config` and `services` root fields
show them to an operator with `config.read`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from pydantic import SecretStr
from sqlalchemy import text

from kai.config import Settings
from kai.services.shared import Services

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
REDACTED = "(redacted)"
Check = Callable[[], Awaitable[str | None]]  # a check's answer: the version, when told


def settings_view(settings: Settings) -> dict[str, Any]:
    """Every setting by its environment variable, as this process reads it: secrets
    (SecretStr) redacted, and a password in a URL too."""
    view: dict[str, Any] = {}
    for name in sorted(type(settings).model_fields):
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = REDACTED
        elif isinstance(value, str):
            value = _without_password(value)
        elif value is not None and not isinstance(value, bool | int | float | list):
            value = str(value)  # paths
        view[f"KAI_{name.upper()}"] = value
    return view


def _without_password(value: str) -> str:
    if "://" not in value or "@" not in value:
        return value
    parts = urlsplit(value)
    if parts.password is None:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def checks_for(services: Services) -> dict[str, Check]:
    """Readiness: every service this process needs, by the name /readyz reports it under."""
    settings = services.settings

    async def database() -> str | None:
        async with services.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            query = "SELECT sqlite_version()" if sqlite else "SHOW server_version"
            return str((await connection.execute(text(query))).scalar())

    found: dict[str, Check] = {"database": database}
    url = redis_url(settings)
    if url:
        found["redis"] = lambda: _redis_version(url)

    async def blobs() -> None:
        await services.files.blobs.check()

    found["s3" if settings.s3_bucket else "files"] = blobs
    if settings.qdrant_url and settings.qdrant_url.startswith(("http://", "https://")):

        async def vectors() -> None:
            await services.files.search_index.check()

        found["qdrant"] = vectors
    scanner = services.files.scanner
    if scanner is not None:

        async def clamd() -> None:
            await scanner.check()

        found["clamd"] = clamd
    return found


def redis_url(settings: Settings) -> str | None:
    if settings.redis_url:
        return settings.redis_url
    return settings.broadcast_url if settings.broadcast_url.startswith("redis") else None


async def _redis_version(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        info = await client.info("server")
        return str(info.get("redis_version")) if info.get("redis_version") else None
    finally:
        await client.aclose()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    latency_ms: float
    version: str | None = None
    detail: str | None = None


async def run_check(name: str, check: Check) -> Outcome:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            found = await check()
    except TimeoutError:
        log.warning("%s did not answer within %.0f s", name, CHECK_TIMEOUT)
        detail = f"no answer within {CHECK_TIMEOUT:g} s"
        return Outcome(False, _since(started), detail=detail)
    except Exception as exc:  # any failure means "not ready", and says which
        log.warning("%s check failed: %r", name, exc)
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        detail = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
        return Outcome(False, _since(started), detail=detail)
    return Outcome(True, _since(started), version=found)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@dataclass(frozen=True)
class ServiceCheck:
    role: str
    kind: str
    ok: bool
    latency_ms: float | None = None
    version: str | None = None
    detail: str | None = None


def _roles(services: Services) -> list[tuple[str, str, str | None]]:
    """(role, kind, the readiness check that covers it, if any), in a fixed order."""
    settings = services.settings
    sqlite = services.engine.dialect.name == "sqlite"
    broker_kind = "redis" if settings.broadcast_url.startswith("redis") else "memory"
    qdrant_server = bool(settings.qdrant_url) and str(settings.qdrant_url).startswith("http")
    return [
        ("database", "sqlite" if sqlite else "postgresql", "database"),
        ("broker", broker_kind, "redis" if broker_kind == "redis" else None),
        ("tasks", "redis" if settings.redis_url else "in-process", "redis"),
        ("blobs", "s3" if settings.s3_bucket else "local", "s3" if settings.s3_bucket else "files"),
        ("vectors", "qdrant" if qdrant_server else "qdrant-local", "qdrant"),
        ("embeddings", "openai-compatible" if settings.embeddings_url else "wordllama", None),
        ("scanner", "clamd" if services.files.scanner is not None else "none", "clamd"),
        ("mail", "smtp" if settings.smtp_url else "log", None),
        ("tracing", "otlp" if settings.otel_endpoint else "none", None),
    ]


async def check_services(services: Services) -> list[ServiceCheck]:
    """Each role with what serves it; the ones a check covers are checked now, at once.
    The rest (an in-process queue, the server log as mail, no tracing) have nothing to
    reach: latency null."""
    checks = checks_for(services)
    names = list(checks)
    outcomes = dict(
        zip(names, await asyncio.gather(*(run_check(n, checks[n]) for n in names)), strict=True)
    )
    found = []
    for role, kind, check in _roles(services):
        outcome = outcomes.get(check) if check else None
        if outcome is None:
            found.append(ServiceCheck(role=role, kind=kind, ok=True))
        else:
            found.append(
                ServiceCheck(
                    role=role,
                    kind=kind,
                    ok=outcome.ok,
                    latency_ms=outcome.latency_ms,
                    version=outcome.version,
                    detail=outcome.detail,
                )
            )
    return found
