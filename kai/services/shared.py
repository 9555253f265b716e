"""Services: everything a process opens once and shares (built by kai.container)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kai.config import Settings
from kai.events.hub import EventHub
from kai.events.log import EventLog
from kai.security.authenticate import Authenticator
from kai.security.permissions import PermissionMatrix
from kai.security.rate_limit import RateLimiter
from kai.security.tokens import TokenService
from kai.services.agent import AgentService
from kai.services.agent_log import AgentLogService
from kai.services.agent_status import AgentStatusService
from kai.services.api_key import ApiKeyService
from kai.services.approval import ApprovalService
from kai.services.audit import AuditService
from kai.services.auth import AuthService
from kai.services.command import CommandService
from kai.services.conversation import ConversationService
from kai.services.dispatch import Dispatcher, SystemTask
from kai.services.file import FileService
from kai.services.mail import BackgroundMailer
from kai.services.persisted_document import PersistedDocumentService
from kai.services.remote import RemoteService
from kai.services.schedule import ScheduleService
from kai.services.task import TaskService
from kai.services.thread import ThreadService
from kai.services.user import UserService
from kai.services.webhook import WebhookService
from kai.services.webhook_delivery import DeliveryQueue


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    tokens: TokenService
    matrix: PermissionMatrix
    authenticator: Authenticator
    auth: AuthService
    api_keys: ApiKeyService
    users: UserService
    audit: AuditService
    rate_limiter: RateLimiter
    mailer: BackgroundMailer
    hub: EventHub
    events: EventLog
    agents: AgentService
    commands: CommandService
    agent_logs: AgentLogService
    agent_status: AgentStatusService
    remote: RemoteService
    tasks: TaskService
    schedules: ScheduleService
    approvals: ApprovalService
    webhooks: WebhookService
    webhook_deliveries: DeliveryQueue
    threads: ThreadService
    conversations: ConversationService
    dispatcher: Dispatcher
    files: FileService
    persisted_documents: PersistedDocumentService
    # The server's own background work, by task type (no agent runs it).
    system_tasks: dict[str, SystemTask]
