"""The Starlette application: /graphql (HTTP and WebSocket), /files/{id}, /healthz, /readyz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.extensions import DisableIntrospection, SchemaExtension

from kai import migrate
from kai.config import Settings
from kai.graphql_app import KaiGraphQL
from kai.middleware import BodyLimitMiddleware, RequestIdMiddleware
from kai.routes.files import download_file
from kai.schema import build_schema
from kai.schema.extensions import FlushAudit
from kai.services.container import Services, open_services
from kai.workers.local import run_tasks_here

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
PRUNE_INTERVAL = 60.0
# The heartbeat sweep runs this often, at most: a silent agent turns ERROR soon after its timeout.
SWEEP_INTERVAL = 5.0


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            await _prepare_database(services)
            app.state.services = services
            app.state.graphql = _graphql_view(services)
            pruning = asyncio.create_task(_prune_events(services))
            sweeping = asyncio.create_task(_sweep_remote_agents(services))
            async with run_tasks_here(services):
                log.info("kAI ready on %s (%s)", settings.public_url, settings.env)
                try:
                    yield
                finally:
                    pruning.cancel()
                    sweeping.cancel()

    return Starlette(
        routes=[
            Route("/graphql", _graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", _graphql),
            Route("/files/{file_id}", download_file, methods=["GET", "HEAD"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                max_upload_bytes=settings.max_upload_bytes,
            ),
        ],
        lifespan=lifespan,
    )


class _GraphQLEndpoint:
    """An ASGI endpoint that hands over to the view the lifespan built."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.graphql(scope, receive, send)


_graphql = _GraphQLEndpoint()


def _graphql_view(services: Services) -> KaiGraphQL:
    settings = services.settings
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [FlushAudit]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    schema = build_schema(extensions=extensions, suggestions=settings.field_suggestions_enabled)
    return KaiGraphQL(schema, services=services)


async def _prepare_database(services: Services) -> None:
    if services.settings.is_production:
        if await migrate.pending(services.engine):
            raise RuntimeError("the database schema is behind this release: run `kai migrate`")
        return
    # Development keeps itself current, so `kai serve` is the only command needed.
    await migrate.upgrade(services.engine)


async def _prune_events(services: Services) -> None:
    """Retention of the event log, by age and by count per agent (settings)."""
    while True:
        await asyncio.sleep(PRUNE_INTERVAL)
        try:
            pruned = await services.events.prune()
        except Exception as exc:  # retention is housekeeping: retry on the next round
            log.warning("event pruning failed: %r", exc)
            continue
        if pruned:
            log.info("pruned %d old agent events", pruned)


async def _sweep_remote_agents(services: Services) -> None:
    """Remote agents whose process went silent past the heartbeat timeout turn ERROR."""
    interval = min(SWEEP_INTERVAL, max(0.1, services.settings.heartbeat_timeout_seconds / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            await services.remote.sweep()
        except Exception as exc:  # housekeeping: retry on the next round
            log.warning("remote agent sweep failed: %r", exc)


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        async with asyncio.timeout(READY_TIMEOUT), services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", and says why
        log.warning("readiness: database unreachable: %r", exc)
        return JSONResponse(
            {"status": "unavailable", "checks": {"database": f"unreachable: {type(exc).__name__}"}},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "checks": {"database": "ok"}})
