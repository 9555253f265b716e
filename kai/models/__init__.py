"""SQLModel tables, one module per area. Importing this registers them all on the metadata."""

from sqlmodel import SQLModel

from kai.models.agent import Agent, AgentState
from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.agent_log import AgentLog, LogLevel
from kai.models.api_key import ApiKey
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.models.audit import AuditEntry
from kai.models.command import CommandRecord
from kai.models.file import ScanStatus, StoredFile
from kai.models.magic_link import MagicLink
from kai.models.persisted_document import PersistedDocument
from kai.models.remote import RemoteMessage
from kai.models.schedule import Schedule
from kai.models.session import AuthSession
from kai.models.task import Task, TaskState
from kai.models.thread import Message, MessageRole, Thread
from kai.models.user import Role, User
from kai.models.webhook import DeliveryState, Webhook, WebhookDelivery

metadata = SQLModel.metadata

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentEventType",
    "AgentLog",
    "AgentState",
    "ApiKey",
    "Approval",
    "ApprovalKind",
    "ApprovalState",
    "AuditEntry",
    "AuthSession",
    "CommandRecord",
    "DeliveryState",
    "LogLevel",
    "MagicLink",
    "Message",
    "MessageRole",
    "PersistedDocument",
    "RemoteMessage",
    "Role",
    "ScanStatus",
    "Schedule",
    "StoredFile",
    "Task",
    "TaskState",
    "Thread",
    "User",
    "Webhook",
    "WebhookDelivery",
    "metadata",
]
