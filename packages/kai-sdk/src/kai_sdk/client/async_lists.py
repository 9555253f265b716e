"""AsyncKaiClient's lists followed to their end: every node of a connection, page after
page (`iter_agents`, `iter_tasks`, ...), on the generated AsyncGraphQLClient.
AsyncKaiClient (kai_sdk.client.async_client) inherits them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TypeVar

from kai_sdk.client.aio import (
    AgentFilter,
    AgentOrder,
    ApprovalFilter,
    AsyncGraphQLClient,
    FileFilter,
    FileOrder,
    LogLevel,
    TaskFilter,
    TaskOrder,
    ThreadOrder,
    UserFilter,
)
from kai_sdk.client.aio.fragments import (
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
from kai_sdk.client.errors import NotFoundError

T = TypeVar("T")
Page = tuple[list[T], PageInfoFields]


async def _every(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> AsyncGenerator[T, None]:
    """Every node of a connection, a page at a time, following `pageInfo.endCursor`."""
    after: str | None = None
    while True:
        nodes, page_info = await fetch(after)
        for node in nodes:
            yield node
        if not page_info.has_next_page or page_info.end_cursor is None:
            return
        after = page_info.end_cursor


class AsyncListingClient(AsyncGraphQLClient):
    """The generated client, with each list followed to its end."""

    async def iter_agents(
        self,
        filter_: AgentFilter | None = None,
        order_by: AgentOrder | None = None,
        *,
        page_size: int = 100,
    ) -> AsyncGenerator[AgentFields, None]:
        """Every agent the filter keeps, in order, `page_size` a request."""

        async def page(after: str | None) -> Page[AgentFields]:
            agents = (
                await self.agents(filter_=filter_, order_by=order_by, first=page_size, after=after)
            ).agents
            return [edge.node for edge in agents.edges], agents.page_info

        async with aclosing(_every(page)) as nodes:
            async for agent in nodes:
                yield agent

    async def iter_tasks(
        self,
        filter_: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
        *,
        page_size: int = 100,
    ) -> AsyncGenerator[TaskFields, None]:
        async def page(after: str | None) -> Page[TaskFields]:
            tasks = (
                await self.tasks(filter_=filter_, order_by=order_by, first=page_size, after=after)
            ).tasks
            return [edge.node for edge in tasks.edges], tasks.page_info

        async with aclosing(_every(page)) as nodes:
            async for task in nodes:
                yield task

    async def iter_files(
        self,
        filter_: FileFilter | None = None,
        order_by: FileOrder | None = None,
        *,
        page_size: int = 100,
    ) -> AsyncGenerator[FileFields, None]:
        async def page(after: str | None) -> Page[FileFields]:
            files = (
                await self.files(filter_=filter_, order_by=order_by, first=page_size, after=after)
            ).files
            return [edge.node for edge in files.edges], files.page_info

        async with aclosing(_every(page)) as nodes:
            async for file in nodes:
                yield file

    async def iter_users(
        self, filter_: UserFilter | None = None, *, page_size: int = 100
    ) -> AsyncGenerator[UserFields, None]:
        async def page(after: str | None) -> Page[UserFields]:
            users = (await self.users(filter_=filter_, first=page_size, after=after)).users
            return [edge.node for edge in users.edges], users.page_info

        async with aclosing(_every(page)) as nodes:
            async for user in nodes:
                yield user

    async def iter_api_keys(
        self, *, include_revoked: bool = False, page_size: int = 100
    ) -> AsyncGenerator[ApiKeyFields, None]:
        async def page(after: str | None) -> Page[ApiKeyFields]:
            keys = (
                await self.api_keys(include_revoked=include_revoked, first=page_size, after=after)
            ).api_keys
            return [edge.node for edge in keys.edges], keys.page_info

        async with aclosing(_every(page)) as nodes:
            async for key in nodes:
                yield key

    async def iter_audit_log(
        self,
        *,
        user_id: str | None = None,
        action: str | None = None,
        granted: bool | None = None,
        page_size: int = 100,
    ) -> AsyncGenerator[AuditEntryFields, None]:
        async def page(after: str | None) -> Page[AuditEntryFields]:
            log = (
                await self.audit_log(
                    user_id=user_id, action=action, granted=granted, first=page_size, after=after
                )
            ).audit_log
            return [edge.node for edge in log.edges], log.page_info

        async with aclosing(_every(page)) as nodes:
            async for entry in nodes:
                yield entry

    async def iter_agent_logs(
        self, agent_id: str, *, level: LogLevel | None = None, page_size: int = 100
    ) -> AsyncGenerator[LogEntryFields, None]:
        async def page(after: str | None) -> Page[LogEntryFields]:
            logs = (
                await self.agent_logs(agent_id, level=level, first=page_size, after=after)
            ).agent_logs
            return [edge.node for edge in logs.edges], logs.page_info

        async with aclosing(_every(page)) as nodes:
            async for line in nodes:
                yield line

    async def iter_schedules(
        self, agent_id: str | None = None, *, page_size: int = 100
    ) -> AsyncGenerator[ScheduleFields, None]:
        async def page(after: str | None) -> Page[ScheduleFields]:
            found = (await self.schedules(agent_id, first=page_size, after=after)).schedules
            return [edge.node for edge in found.edges], found.page_info

        async with aclosing(_every(page)) as nodes:
            async for schedule in nodes:
                yield schedule

    async def iter_webhooks(self, *, page_size: int = 100) -> AsyncGenerator[WebhookFields, None]:
        async def page(after: str | None) -> Page[WebhookFields]:
            found = (await self.webhooks(first=page_size, after=after)).webhooks
            return [edge.node for edge in found.edges], found.page_info

        async with aclosing(_every(page)) as nodes:
            async for webhook in nodes:
                yield webhook

    async def iter_threads(
        self,
        agent_id: str | None = None,
        order_by: ThreadOrder | None = None,
        *,
        page_size: int = 100,
    ) -> AsyncGenerator[ThreadFields, None]:
        """The caller's threads (every one for ADMIN), of one agent or all, the most
        recently started first, or in `order_by`'s order."""

        async def page(after: str | None) -> Page[ThreadFields]:
            found = (
                await self.threads(agent_id, first=page_size, after=after, order_by=order_by)
            ).threads
            return [edge.node for edge in found.edges], found.page_info

        async with aclosing(_every(page)) as nodes:
            async for thread in nodes:
                yield thread

    async def iter_messages(
        self, thread_id: str, *, page_size: int = 100
    ) -> AsyncGenerator[MessageFields, None]:
        """Every message of the thread, oldest first (NotFoundError when there is none)."""

        async def page(after: str | None) -> Page[MessageFields]:
            read = await self.thread(thread_id, with_messages=True, first=page_size, after=after)
            if read.thread is None or read.thread.messages is None:
                raise NotFoundError(f"no thread {thread_id}", code="NOT_FOUND")
            found = read.thread.messages
            return [edge.node for edge in found.edges], found.page_info

        async with aclosing(_every(page)) as nodes:
            async for message in nodes:
                yield message

    async def iter_approvals(
        self, filter_: ApprovalFilter | None = None, *, page_size: int = 100
    ) -> AsyncGenerator[ApprovalFields, None]:
        """The approvals of the agents the caller sees that the filter keeps, newest first."""

        async def page(after: str | None) -> Page[ApprovalFields]:
            found = (await self.approvals(filter_, first=page_size, after=after)).approvals
            return [edge.node for edge in found.edges], found.page_info

        async with aclosing(_every(page)) as nodes:
            async for approval in nodes:
                yield approval
