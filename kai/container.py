"""The composition root: builds what a process opens once and shares (engine, services,
runtimes, stores, the dispatcher), and closes it in the reverse order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kai.config import Settings
from kai.db import create_engine, create_sessionmaker
from kai.events.hub import EventHub
from kai.events.log import EventLog
from kai.runtimes import RuntimeRegistry
from kai.runtimes.echo import EchoRuntime
from kai.runtimes.extra import load_runtimes
from kai.runtimes.llm import LlmRuntime
from kai.runtimes.remote import RemoteRuntime
from kai.security import passwords
from kai.security.authenticate import Authenticator
from kai.security.permissions import PermissionMatrix
from kai.security.rate_limit import RateLimiter
from kai.security.rate_limit_redis import rate_limiter_for
from kai.security.tokens import TokenService
from kai.services.agent import AgentService
from kai.services.agent_log import AgentLogService
from kai.services.agent_status import AgentStatusService
from kai.services.api_key import ApiKeyService
from kai.services.audit import AuditService
from kai.services.auth import AuthService
from kai.services.command import CommandService
from kai.services.dispatch import Dispatcher
from kai.services.file import INDEX_TASK, FileService
from kai.services.mail import build_mailer
from kai.services.remote import RemoteService
from kai.services.shared import Services
from kai.services.task import TaskService
from kai.services.user import UserService
from kai.storage import from_settings
from kai.workers.dispatch import LocalDispatcher
from kai.workers.redis_stream_broker import build_broker
from kai.workers.taskiq_dispatch import TaskiqDispatcher

log = logging.getLogger(__name__)


def build_runtimes(settings: Settings, hub: EventHub) -> RuntimeRegistry:
    return RuntimeRegistry(
        [
            EchoRuntime(),
            LlmRuntime(),
            RemoteRuntime(hub, idle_timeout=settings.command_timeout_seconds),
            *load_runtimes(settings.runtimes_extra),
        ]
    )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    engine = create_engine(settings.resolved_database_url)
    sessionmaker = create_sessionmaker(engine)
    tokens = TokenService(settings)
    matrix = PermissionMatrix(settings.permissions)
    mailer = build_mailer(settings.smtp_url, settings.smtp_from)
    hub = EventHub(settings.broadcast_url, buffer_size=settings.subscriber_buffer)
    events = EventLog(
        sessionmaker=sessionmaker,
        hub=hub,
        max_age_seconds=settings.event_retention_seconds,
        max_per_agent=settings.event_retention_count,
    )
    runtimes = build_runtimes(settings, hub)
    agents = AgentService(sessionmaker=sessionmaker, runtimes=runtimes, events=events)
    dispatcher: Dispatcher
    if settings.redis_url:
        dispatcher = TaskiqDispatcher(hub, build_broker(settings))
    else:
        dispatcher = LocalDispatcher(hub, concurrency=settings.task_concurrency)
    tasks = TaskService(
        sessionmaker=sessionmaker,
        events=events,
        dispatcher=dispatcher,
        backoff_base_seconds=settings.task_backoff_seconds,
    )
    scanner = from_settings.scanner(settings)
    if scanner is None:
        log.warning("no virus scanner configured: uploads are stored unscanned (SKIPPED)")
    files = FileService(
        sessionmaker=sessionmaker,
        blobs=from_settings.blob_store(settings),
        scanner=scanner,
        search_index=from_settings.search_index(settings),
        signer=from_settings.download_signer(settings),
        tasks=tasks,
        max_upload_bytes=settings.max_upload_bytes,
        allowed_types=settings.allowed_mime_types,
        index_max_chars=settings.index_max_chars,
    )
    rate_limiter: RateLimiter = rate_limiter_for(settings.redis_url)
    passwords.warm_up()
    await hub.start()
    try:
        await files.blobs.start()
        if isinstance(dispatcher, TaskiqDispatcher):
            await dispatcher.start()
        yield Services(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            tokens=tokens,
            matrix=matrix,
            authenticator=Authenticator(
                sessionmaker=sessionmaker, tokens=tokens, matrix=matrix, settings=settings
            ),
            auth=AuthService(
                sessionmaker=sessionmaker, tokens=tokens, settings=settings, mailer=mailer
            ),
            api_keys=ApiKeyService(sessionmaker=sessionmaker, ttl_days=settings.api_key_ttl_days),
            users=UserService(sessionmaker=sessionmaker),
            audit=AuditService(sessionmaker=sessionmaker),
            rate_limiter=rate_limiter,
            mailer=mailer,
            hub=hub,
            events=events,
            agents=agents,
            commands=CommandService(
                sessionmaker=sessionmaker,
                runtimes=runtimes,
                events=events,
                timeout_seconds=settings.command_timeout_seconds,
            ),
            agent_logs=AgentLogService(sessionmaker=sessionmaker, events=events),
            agent_status=AgentStatusService(sessionmaker=sessionmaker),
            remote=RemoteService(
                sessionmaker=sessionmaker,
                hub=hub,
                agents=agents,
                heartbeat_timeout=settings.heartbeat_timeout_seconds,
            ),
            tasks=tasks,
            dispatcher=dispatcher,
            files=files,
            system_tasks={INDEX_TASK: files.index},
        )
    finally:
        await files.search_index.aclose()
        await from_settings.close_embedder(files.search_index.embedder)
        await files.blobs.aclose()
        if isinstance(dispatcher, TaskiqDispatcher):
            await dispatcher.stop()
        await runtimes.aclose()
        await mailer.drain()
        await hub.stop()
        await rate_limiter.aclose()
        await engine.dispose()
