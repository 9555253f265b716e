"""The Starlette application: /graphql (HTTP and WebSocket), /files/{id}, /healthz, /readyz,
/metrics, and the console at / with its /assets/."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.extensions import DisableIntrospection, SchemaExtension

from kai import migrate, periodic
from kai.config import Settings
from kai.container import open_services
from kai.graphql.csrf import PREFLIGHT_HEADERS
from kai.graphql.extensions.document_cache import ParsedDocuments
from kai.graphql.extensions.flush_audit import FlushAudit
from kai.graphql.extensions.limits import QueryLimits
from kai.graphql.extensions.observe_operations import ObserveOperations
from kai.graphql.extensions.persisted_documents import PersistedDocuments
from kai.graphql.extensions.rate_limits import RateLimits
from kai.graphql.extensions.tracing import tracing_extension
from kai.graphql.extensions.validation_cache import ValidDocuments
from kai.graphql.schema import build_schema
from kai.graphql.trusted_documents import TrustedDocuments
from kai.graphql.view import KaiGraphQL
from kai.middleware import BodyLimitMiddleware, CorsMiddleware, RequestIdMiddleware
from kai.observability.http import MetricsMiddleware
from kai.observability.tracing import start_tracing
from kai.preflight import describe_database
from kai.routes.console import BUILD_DIR, BuiltAssets, console_page, graphiql_page
from kai.routes.files import download_file
from kai.routes.metrics import metrics_endpoint
from kai.routes.readiness import healthz, readyz
from kai.services.shared import Services
from kai.services.task_counts import count_tasks_forever
from kai.workers.local import run_tasks_here

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 60.0
# The heartbeat sweep runs this often, at most: a silent agent turns ERROR soon after its timeout.
SWEEP_INTERVAL = 5.0
# Every document the console served at / sends (by id only), written by its build.
CONSOLE_MANIFEST = BUILD_DIR / "persisted-documents.json"


def create_app(
    settings: Settings | None = None,
    *,
    freeze_heap: bool = False,
    listen_url: str | None = None,
) -> Starlette:
    """`freeze_heap`: once started, keep what start-up made out of the garbage collector's
    sight (see `_freeze_heap`); for a process that serves one app for its whole life
    (`kai serve`), not for tests that make many. `listen_url`: where the server listens,
    for the start-up line (`kai serve --port 8011`)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tracer_provider = start_tracing(settings) if settings.otel_endpoint else None
        try:
            async with open_services(settings) as services:
                await _prepare_database(services)
                app.state.services = services
                app.state.graphql = _graphql_view(services, tracer_provider)
                background = _housekeeping(services)
                async with run_tasks_here(services):
                    if freeze_heap:
                        _freeze_heap()
                    log.info("kAI ready on %s", _where(settings, listen_url))
                    try:
                        yield
                    finally:
                        for task in background:
                            task.cancel()
                        # Awaited before the engine goes: a query cut off mid-way must
                        # give its connection back while the pool still exists.
                        await asyncio.gather(*background, return_exceptions=True)
        finally:
            if tracer_provider is not None:
                tracer_provider.shutdown()  # flushes the spans still queued

    app = Starlette(routes=_routes(), middleware=_middleware(settings), lifespan=lifespan)
    # Starlette answers `/graphql/` with a redirect whose Location it builds from the Host
    # header, which the client chose (H1): a wrong path is a 404 instead.
    app.router.redirect_slashes = False
    return app


def _where(settings: Settings, listen_url: str | None) -> str:
    """ "http://127.0.0.1:8011 (development; SQLite at .kai/kai.db)", and the public URL
    when links point elsewhere."""
    where = f"{listen_url or settings.public_url} ({settings.env}; {describe_database(settings)}"
    if listen_url not in {None, settings.public_url}:
        where += f"; public URL {settings.public_url}"
    return where + ")"


def _routes() -> list[BaseRoute]:
    return [
        Route("/graphql", _graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", _graphql),
        Route("/files/{file_id}", download_file, methods=["GET", "HEAD"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint),
        Route("/readyz", readyz),
        Mount("/assets", app=BuiltAssets(), name="assets"),
        # Last: the console's page for its own client-side paths (/agents/..., ...).
        Route("/{path:path}", console_page, methods=["GET", "HEAD"]),
    ]


def _middleware(settings: Settings) -> list[Middleware]:
    return [
        # Outermost: even a refusal (413, 429, 503) reaches an allowed page readable.
        Middleware(CorsMiddleware, origins=settings.browser_origins, headers=PREFLIGHT_HEADERS),
        Middleware(MetricsMiddleware),
        Middleware(RequestIdMiddleware),
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            max_upload_bytes=settings.max_upload_bytes,
        ),
    ]


class _GraphQLEndpoint:
    """An ASGI endpoint that hands over to the view the lifespan built."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.graphql(scope, receive, send)


_graphql = _GraphQLEndpoint()


def _graphql_view(services: Services, tracer_provider: TracerProvider | None) -> KaiGraphQL:
    settings = services.settings
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [FlushAudit]
    # The console served here is part of this server: its documents always run.
    console = TrustedDocuments.built_in(CONSOLE_MANIFEST, "the console")
    trusted = (
        TrustedDocuments.load(settings.trusted_documents) if settings.trusted_documents else None
    )
    # First: it puts a persisted document's text in place, or refuses, before any parsing.
    persisted = PersistedDocuments(
        trusted | console if trusted is not None else None, built_in=console
    )
    extensions.append(persisted.extension)
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_query_tokens,
    )
    extensions.append(limits.extension)
    extensions.append(RateLimits)  # after validation, before any resolver
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    # After everything that sets the rules and parser options (in on_operation): they
    # are part of the keys.
    extensions.append(ParsedDocuments().extension)
    extensions.append(ValidDocuments().extension)
    observers: list[type[SchemaExtension]] = [ObserveOperations]
    if tracer_provider is not None:
        observers.append(tracing_extension(tracer_provider))
    schema = build_schema(
        extensions=extensions,
        observers=observers,
        suggestions=settings.field_suggestions_enabled,
    )
    # A manifest from another release fails the start, not its clients one by one (the
    # console's too, should its build be stale).
    console.check(schema._schema)
    if trusted is not None:
        trusted.check(schema._schema)
    ide_page = graphiql_page if settings.graphiql_enabled else None
    return KaiGraphQL(schema, services=services, ide_page=ide_page, persisted=persisted)


# The youngest generation is collected once this many objects were made (CPython: 700).
YOUNG_GENERATION = 100_000
OLDER_GENERATIONS = (20, 10)


def _freeze_heap() -> None:
    """Moves every object alive once the app has started (modules, the schema, the services:
    some 280,000 of them) to the collector's permanent generation, and makes the youngest
    generation larger.

    They live as long as the process, yet each full collection walked them all: under
    load, one every few requests, each a pause of about a quarter of a second on a
    2-vCPU VM, which was 40% of the CPU time of a 100-agent list query and most of its
    p99 (bench/http.py). Objects made afterwards are collected as before. Not for a
    process that makes many apps (tests): each one's start-up objects would stay.

    The youngest generation: an event fanned out to 5,000 subscribers keeps tens of
    thousands of objects in flight for a few hundred milliseconds. Collected every 700
    allocations, those still in flight were promoted, so old enough to be walked only by
    full collections, which then came every few events, each a pause of 1.2 to 1.4 s over
    the subscriptions' millions of objects: most of the fan-out's p99, and a quarter of
    the time 5,000 clients took to subscribe. Collected every 100,000 allocations, nearly
    all of them are gone by then (bench/fanout.py: no full collection in ten events, p99
    917 -> 480 ms); a cycle of garbage waits a little longer to be freed.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *OLDER_GENERATIONS)


async def _prepare_database(services: Services) -> None:
    if services.settings.is_production:
        if await migrate.pending(services.engine):
            raise RuntimeError("the database schema is behind this release: run `kai migrate`")
        return
    # Development keeps itself current, so `kai serve` is the only command needed.
    await migrate.upgrade(services.engine)


def _housekeeping(services: Services) -> list[asyncio.Task[None]]:
    """The server's periodic work, beside the task sweeper (kai.workers.local)."""

    async def prune_events() -> None:
        """Retention of the event log, by age and by count per agent (settings)."""
        pruned = await services.events.prune()
        if pruned:
            log.info("pruned %d old agent events", pruned)

    # Remote agents whose process went silent past the heartbeat timeout turn ERROR.
    sweep_every = min(SWEEP_INTERVAL, max(0.1, services.settings.heartbeat_timeout_seconds / 4))
    return [
        asyncio.create_task(
            periodic.every(PRUNE_INTERVAL, prune_events, what="event pruning", wait_first=True)
        ),
        asyncio.create_task(
            periodic.every(
                sweep_every, services.remote.sweep, what="remote agent sweep", wait_first=True
            )
        ),
        asyncio.create_task(count_tasks_forever(services.tasks)),
    ]
