"""GET /healthz: the process answers. GET /readyz: every backing service this process is
configured to use, checked at once, each within a short timeout; the answer names the ones
that failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from kai.services.shared import Services

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0

Check = Callable[[], Awaitable[object]]


def checks_for(services: Services) -> dict[str, Check]:
    settings = services.settings

    async def database() -> None:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    found: dict[str, Check] = {"database": database}
    redis_url = settings.redis_url or (
        settings.broadcast_url if settings.broadcast_url.startswith("redis") else None
    )
    if redis_url:

        async def ping_redis() -> None:
            client = redis.Redis.from_url(
                redis_url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
            )
            try:
                await client.ping()
            finally:
                await client.aclose()

        found["redis"] = ping_redis
    found["s3" if settings.s3_bucket else "files"] = services.files.blobs.check
    if settings.qdrant_url and settings.qdrant_url.startswith(("http://", "https://")):
        found["qdrant"] = services.files.search_index.check
    if services.files.scanner is not None:
        found["clamd"] = services.files.scanner.check
    return found


async def _outcome(name: str, check: Check) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except TimeoutError:
        log.warning("readiness: %s did not answer within %.0f s", name, CHECK_TIMEOUT)
        return "unreachable: timeout"
    except Exception as exc:  # any failure means "not ready", and says which
        log.warning("readiness: %s failed: %r", name, exc)
        return f"unreachable: {type(exc).__name__}"
    return "ok"


async def readiness(services: Services) -> tuple[bool, dict[str, str]]:
    checks = checks_for(services)
    outcomes = await asyncio.gather(*(_outcome(name, check) for name, check in checks.items()))
    results = dict(zip(checks, outcomes, strict=True))
    return all(outcome == "ok" for outcome in results.values()), results


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    ready, checks = await readiness(request.app.state.services)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
