"""The composition root: builds what a process opens once and shares (engine, services,
runtimes, stores, the dispatcher), and closes it in the reverse order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.config import Settings
from kai.db import create_engine, create_sessionmaker
from kai.egress.policy import EgressPolicy
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
from kai.security.rate_limit_redis import rate_limiter_for
from kai.security.tokens import TokenService
from kai.services.agent import AgentService
from kai.services.agent_log import AgentLogService
from kai.services.agent_status import AgentStatusService
from kai.services.api_key import ApiKeyService
from kai.services.approval import ApprovalService
from kai.services.approval_gate import ApprovalGate
from kai.services.audit import AuditService
from kai.services.auth import AuthService
from kai.services.command import CommandService
from kai.services.conversation import ConversationLimits, ConversationService
from kai.services.dispatch import Dispatcher
from kai.services.file import INDEX_TASK, FileService
from kai.services.mail import build_mailer
from kai.services.pagination import Pager
from kai.services.persisted_document import PersistedDocumentService
from kai.services.remote import RemoteService
from kai.services.schedule import ScheduleLimits, ScheduleService
from kai.services.schedule_clock import schedule_clock
from kai.services.shared import Services
from kai.services.task import TaskService
from kai.services.task_shares import TaskShares
from kai.services.thread import ThreadService
from kai.services.thread_runs import ThreadRuns
from kai.services.user import UserService
from kai.services.webhook import WebhookService
from kai.services.webhook_delivery import DeliveryQueue, DeliveryRules
from kai.services.webhook_secrets import SecretBox
from kai.storage import from_settings
from kai.storage.text_process import ExtractionLimits
from kai.workers.dispatch import LocalDispatcher
from kai.workers.redis_stream_broker import build_broker
from kai.workers.taskiq_dispatch import TaskiqDispatcher

log = logging.getLogger(__name__)


def build_runtimes(settings: Settings, hub: EventHub) -> RuntimeRegistry:
    return RuntimeRegistry(
        [
            EchoRuntime(),
            LlmRuntime(egress=EgressPolicy(settings.resolved_egress_allowed_networks)),
            RemoteRuntime(hub, idle_timeout=settings.command_timeout_seconds),
            *load_runtimes(settings.runtimes_extra),
        ]
    )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The services of one process: built, started, and closed when the block ends."""
    services = build_services(settings)
    passwords.warm_up()
    await services.hub.start()
    try:
        await services.files.blobs.start()
        if isinstance(services.dispatcher, TaskiqDispatcher):
            await services.dispatcher.start()
        yield services
    finally:
        await _close(services)


def build_services(settings: Settings) -> Services:
    """Everything wired together, nothing started or connected yet."""
    engine = create_engine(settings.resolved_database_url)
    sessionmaker = create_sessionmaker(engine)
    tokens = TokenService(settings)
    matrix = PermissionMatrix(settings.permissions)
    mailer = build_mailer(settings.smtp_url, settings.smtp_from)
    hub = EventHub(settings.broadcast_url, buffer_size=settings.subscriber_buffer)
    events = build_event_log(settings, sessionmaker, hub)
    runtimes = build_runtimes(settings, hub)
    # Cursors are signed with the JWT key material: every replica reads every other's.
    pager = Pager(str(settings.signing_keys()[0]))
    box = SecretBox(str(settings.signing_keys()[0]))
    agents = build_agents(settings, sessionmaker, runtimes, events, pager)
    dispatcher = build_dispatcher(settings, hub)
    gate = ApprovalGate(pending_per_user=settings.quota_pending_approvals_per_user)
    tasks = build_tasks(settings, sessionmaker, events, dispatcher, pager, gate)
    commands = build_commands(settings, sessionmaker, runtimes, events, gate)
    files = build_files(settings, sessionmaker, tasks, pager)
    return Services(
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
        api_keys=build_api_keys(settings, sessionmaker, pager),
        users=UserService(sessionmaker=sessionmaker, pager=pager),
        audit=AuditService(sessionmaker=sessionmaker, pager=pager),
        rate_limiter=rate_limiter_for(settings.redis_url),
        mailer=mailer,
        hub=hub,
        events=events,
        agents=agents,
        commands=commands,
        agent_logs=AgentLogService(sessionmaker=sessionmaker, events=events, pager=pager),
        agent_status=AgentStatusService(sessionmaker=sessionmaker),
        remote=RemoteService(
            sessionmaker=sessionmaker,
            hub=hub,
            agents=agents,
            heartbeat_timeout=settings.heartbeat_timeout_seconds,
        ),
        tasks=tasks,
        schedules=build_schedules(settings, sessionmaker, pager, agents, tasks, events),
        approvals=build_approvals(sessionmaker, pager, events, hub, gate, commands, tasks),
        webhooks=build_webhooks(settings, sessionmaker, pager, events, box),
        webhook_deliveries=build_deliveries(settings, sessionmaker),
        threads=build_threads(settings, sessionmaker, pager),
        conversations=build_conversations(settings, sessionmaker, runtimes, events, hub),
        dispatcher=dispatcher,
        files=files,
        persisted_documents=build_persisted_documents(settings, sessionmaker),
        system_tasks={INDEX_TASK: files.index},
    )


def build_commands(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtimes: RuntimeRegistry,
    events: EventLog,
    gate: ApprovalGate,
) -> CommandService:
    return CommandService(
        sessionmaker=sessionmaker,
        runtimes=runtimes,
        events=events,
        timeout_seconds=settings.command_timeout_seconds,
        gate=gate,
    )


def build_approvals(
    sessionmaker: async_sessionmaker[AsyncSession],
    pager: Pager,
    events: EventLog,
    hub: EventHub,
    gate: ApprovalGate,
    commands: CommandService,
    tasks: TaskService,
) -> ApprovalService:
    return ApprovalService(
        sessionmaker=sessionmaker,
        pager=pager,
        events=events,
        hub=hub,
        gate=gate,
        commands=commands,
        tasks=tasks,
    )


def build_agents(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtimes: RuntimeRegistry,
    events: EventLog,
    pager: Pager,
) -> AgentService:
    return AgentService(
        sessionmaker=sessionmaker,
        runtimes=runtimes,
        events=events,
        pager=pager,
        agents_per_user=settings.quota_agents_per_user,
    )


def build_webhooks(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    pager: Pager,
    events: EventLog,
    box: SecretBox,
) -> WebhookService:
    return WebhookService(
        sessionmaker=sessionmaker,
        pager=pager,
        events=events,
        box=box,
        egress=EgressPolicy(settings.resolved_egress_allowed_networks),
        per_user=settings.quota_webhooks_per_user,
    )


def build_deliveries(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> DeliveryQueue:
    return DeliveryQueue(
        sessionmaker=sessionmaker,
        rules=DeliveryRules(
            retry_seconds=tuple(settings.webhook_retry_seconds),
            lease=timedelta(seconds=settings.webhook_lease_seconds),
            breaker_failures=settings.webhook_breaker_failures,
            breaker_seconds=settings.webhook_breaker_seconds,
        ),
    )


def build_threads(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], pager: Pager
) -> ThreadService:
    return ThreadService(
        sessionmaker=sessionmaker, pager=pager, per_user=settings.quota_threads_per_user
    )


def build_conversations(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtimes: RuntimeRegistry,
    events: EventLog,
    hub: EventHub,
) -> ConversationService:
    return ConversationService(
        sessionmaker=sessionmaker,
        runtimes=runtimes,
        events=events,
        runs=ThreadRuns(
            sessionmaker=sessionmaker, hub=hub, lease_seconds=settings.thread_run_lease_seconds
        ),
        limits=ConversationLimits(
            max_chars=settings.max_message_chars,
            per_thread=settings.quota_messages_per_thread,
            history_tokens=settings.thread_history_tokens,
        ),
    )


def build_schedules(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    pager: Pager,
    agents: AgentService,
    tasks: TaskService,
    events: EventLog,
) -> ScheduleService:
    return ScheduleService(
        sessionmaker=sessionmaker,
        pager=pager,
        agents=agents,
        tasks=tasks,
        events=events,
        limits=ScheduleLimits(
            min_interval=timedelta(seconds=settings.schedule_min_interval_seconds),
            per_user=settings.quota_schedules_per_user,
        ),
        clock=schedule_clock(settings.schedule_clock_file),
    )


def build_tasks(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    events: EventLog,
    dispatcher: Dispatcher,
    pager: Pager,
    gate: ApprovalGate,
) -> TaskService:
    return TaskService(
        sessionmaker=sessionmaker,
        pager=pager,
        events=events,
        dispatcher=dispatcher,
        backoff_base_seconds=settings.task_backoff_seconds,
        shares=TaskShares(
            default_timeout_seconds=settings.task_default_timeout_seconds,
            system_timeout_seconds=settings.index_timeout_seconds,
            queued_per_user=settings.quota_queued_tasks_per_user,
            running_per_user=settings.quota_running_tasks_per_user,
        ),
        gate=gate,
    )


def build_api_keys(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], pager: Pager
) -> ApiKeyService:
    return ApiKeyService(
        sessionmaker=sessionmaker,
        pager=pager,
        ttl_days=settings.api_key_ttl_days,
        max_ttl_days=settings.api_key_max_ttl_days,
    )


def build_persisted_documents(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> PersistedDocumentService:
    return PersistedDocumentService(
        sessionmaker=sessionmaker, max_documents=settings.apq_max_documents
    )


def build_event_log(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], hub: EventHub
) -> EventLog:
    return EventLog(
        sessionmaker=sessionmaker,
        hub=hub,
        max_age_seconds=settings.event_retention_seconds,
        max_per_agent=settings.event_retention_count,
    )


def build_dispatcher(settings: Settings, hub: EventHub) -> Dispatcher:
    """Tasks on Redis for `kai worker`s when KAI_REDIS_URL is set; in-process otherwise."""
    if settings.redis_url:
        return TaskiqDispatcher(hub, build_broker(settings))
    return LocalDispatcher(hub, concurrency=settings.task_concurrency)


def build_files(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tasks: TaskService,
    pager: Pager,
) -> FileService:
    scanner = from_settings.scanner(settings)
    if scanner is None:
        log.warning("no virus scanner configured: uploads are stored unscanned (SKIPPED)")
    return FileService(
        sessionmaker=sessionmaker,
        blobs=from_settings.blob_store(settings),
        scanner=scanner,
        search_index=from_settings.search_index(settings),
        signer=from_settings.download_signer(settings),
        tasks=tasks,
        max_upload_bytes=settings.max_upload_bytes,
        allowed_types=settings.allowed_mime_types,
        extraction=ExtractionLimits(
            max_chars=settings.index_max_chars,
            timeout_seconds=settings.extract_timeout_seconds,
            memory_bytes=settings.extract_max_memory_mb * 1024 * 1024,
        ),
        pager=pager,
    )


async def _close(services: Services) -> None:
    """In the reverse order of use: what sends work first, the engine last."""
    # Approved commands still running record their outcome (cancelled) while all is up.
    await services.approvals.aclose()
    files = services.files
    await files.search_index.aclose()
    await from_settings.close_embedder(files.search_index.embedder)
    await files.blobs.aclose()
    if isinstance(services.dispatcher, TaskiqDispatcher):
        await services.dispatcher.stop()
    await services.agents.runtimes.aclose()
    await services.mailer.drain()
    await services.hub.stop()
    await services.rate_limiter.aclose()
    await services.engine.dispose()
