"""KaiClient's lists followed to their end: every node of a connection, page after page
(`iter_agents`, `iter_tasks`, ...), on the generated GraphQLClient. KaiClient
(kai_sdk.client.sync_client) inherits them."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

from kai_sdk.client.errors import NotFoundError
from kai_sdk.client.sync import (
    AgentFilter,
    AgentOrder,
    ApprovalFilter,
    FileFilter,
    FileOrder,
    GraphQLClient,
    LogLevel,
    TaskFilter,
    TaskOrder,
    ThreadOrder,
    UserFilter,
)
from kai_sdk.client.sync.fragments import (
    AgentFields,
    ApiKeyFields,
    ApprovalFields,
    AuditEntryFields,
    FileFields,
    LogEntryFields,
    MessageFields,
    PageInfoFields,
    ScheduleFields,
    TaskFields,
    ThreadFields,
    UserFields,
    WebhookFields,
)

T = TypeVar("T")
Page = tuple[list[T], PageInfoFields]


def _every(fetch: Callable[[str | None], Page[T]]) -> Generator[T, None, None]:
    """Every node of a connection, a page at a time, following `pageInfo.endCursor`."""
    after: str | None = None
    while True:
        nodes, page_info = fetch(after)
        yield from nodes
        if not page_info.has_next_page or page_info.end_cursor is None:
            return
        after = page_info.end_cursor


class ListingClient(GraphQLClient):
    """The generated client, with each list followed to its end."""

    def iter_agents(
        self,
        filter_: AgentFilter | None = None,
        order_by: AgentOrder | None = None,
        *,
        page_size: int = 100,
    ) -> Generator[AgentFields, None, None]:
        """Every agent the filter keeps, in order, `page_size` a request."""

        def page(after: str | None) -> Page[AgentFields]:
            agents = self.agents(
                filter_=filter_, order_by=order_by, first=page_size, after=after
            ).agents
            return [edge.node for edge in agents.edges], agents.page_info

        return _every(page)

    def iter_tasks(
        self,
        filter_: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
        *,
        page_size: int = 100,
    ) -> Generator[TaskFields, None, None]:
        def page(after: str | None) -> Page[TaskFields]:
            tasks = self.tasks(filter_=filter_, order_by=order_by, first=page_size, after=after)
            return [edge.node for edge in tasks.tasks.edges], tasks.tasks.page_info

        return _every(page)

    def iter_files(
        self,
        filter_: FileFilter | None = None,
        order_by: FileOrder | None = None,
        *,
        page_size: int = 100,
    ) -> Generator[FileFields, None, None]:
        def page(after: str | None) -> Page[FileFields]:
            files = self.files(filter_=filter_, order_by=order_by, first=page_size, after=after)
            return [edge.node for edge in files.files.edges], files.files.page_info

        return _every(page)

    def iter_users(
        self, filter_: UserFilter | None = None, *, page_size: int = 100
    ) -> Generator[UserFields, None, None]:
        def page(after: str | None) -> Page[UserFields]:
            users = self.users(filter_=filter_, first=page_size, after=after).users
            return [edge.node for edge in users.edges], users.page_info

        return _every(page)

    def iter_api_keys(
        self, *, include_revoked: bool = False, page_size: int = 100
    ) -> Generator[ApiKeyFields, None, None]:
        def page(after: str | None) -> Page[ApiKeyFields]:
            keys = self.api_keys(
                include_revoked=include_revoked, first=page_size, after=after
            ).api_keys
            return [edge.node for edge in keys.edges], keys.page_info

        return _every(page)

    def iter_audit_log(
        self,
        *,
        user_id: str | None = None,
        action: str | None = None,
        granted: bool | None = None,
        page_size: int = 100,
    ) -> Generator[AuditEntryFields, None, None]:
        def page(after: str | None) -> Page[AuditEntryFields]:
            log = self.audit_log(
                user_id=user_id, action=action, granted=granted, first=page_size, after=after
            ).audit_log
            return [edge.node for edge in log.edges], log.page_info

        return _every(page)

    def iter_agent_logs(
        self, agent_id: str, *, level: LogLevel | None = None, page_size: int = 100
    ) -> Generator[LogEntryFields, None, None]:
        def page(after: str | None) -> Page[LogEntryFields]:
            logs = self.agent_logs(agent_id, level=level, first=page_size, after=after)
            return [edge.node for edge in logs.agent_logs.edges], logs.agent_logs.page_info

        return _every(page)

    def iter_schedules(
        self, agent_id: str | None = None, *, page_size: int = 100
    ) -> Generator[ScheduleFields, None, None]:
        def page(after: str | None) -> Page[ScheduleFields]:
            found = self.schedules(agent_id, first=page_size, after=after).schedules
            return [edge.node for edge in found.edges], found.page_info

        return _every(page)

    def iter_webhooks(self, *, page_size: int = 100) -> Generator[WebhookFields, None, None]:
        def page(after: str | None) -> Page[WebhookFields]:
            found = self.webhooks(first=page_size, after=after).webhooks
            return [edge.node for edge in found.edges], found.page_info

        return _every(page)

    def iter_threads(
        self,
        agent_id: str | None = None,
        order_by: ThreadOrder | None = None,
        *,
        page_size: int = 100,
    ) -> Generator[ThreadFields, None, None]:
        """The caller's threads (every one for ADMIN), of one agent or all, the most
        recently started first, or in `order_by`'s order."""

        def page(after: str | None) -> Page[ThreadFields]:
            found = self.threads(agent_id, first=page_size, after=after, order_by=order_by).threads
            return [edge.node for edge in found.edges], found.page_info

        return _every(page)

    def iter_messages(
        self, thread_id: str, *, page_size: int = 100
    ) -> Generator[MessageFields, None, None]:
        """Every message of the thread, oldest first (NotFoundError when there is none)."""

        def page(after: str | None) -> Page[MessageFields]:
            thread = self.thread(thread_id, with_messages=True, first=page_size, after=after)
            if thread.thread is None or thread.thread.messages is None:
                raise NotFoundError(f"no thread {thread_id}", code="NOT_FOUND")
            found = thread.thread.messages
            return [edge.node for edge in found.edges], found.page_info

        return _every(page)

    def iter_approvals(
        self, filter_: ApprovalFilter | None = None, *, page_size: int = 100
    ) -> Generator[ApprovalFields, None, None]:
        """The approvals of the agents the caller sees that the filter keeps, newest first."""

        def page(after: str | None) -> Page[ApprovalFields]:
            found = self.approvals(filter_, first=page_size, after=after).approvals
            return [edge.node for edge in found.edges], found.page_info

        return _every(page)
