"""An agent: its configuration, state and work, and the inputs that create and change one."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from kai.context import Info, list_field
from kai.errors import NotFound
from kai.models.agent import Agent as AgentRow
from kai.schema.agent_log import LevelAtLeast, LogConnection, Since
from kai.schema.agent_read_ahead import ReadAhead
from kai.schema.agent_status import AgentState, AgentStatus, Resources
from kai.schema.approval_policy import ApprovalPolicy, ApprovalPolicyInput
from kai.schema.node import Node
from kai.schema.pagination import After, First
from kai.schema.task import Task, TaskConnection, TaskEdge, TaskState
from kai.schema.thread import THREAD_ORDER_DESCRIPTION
from kai.schema.user import User
from kai.services.agent_config import redact
from kai.services.approval_policy import policy_of

if TYPE_CHECKING:
    from kai.schema.file import File
    from kai.schema.thread import ThreadConnection, ThreadOrder


@strawberry.type(description="An agent: its configuration, state and work.")
class Agent(Node):
    id: strawberry.ID = strawberry.field(description="Opaque agent id.")
    name: str = strawberry.field(description="Display name.")
    type: str = strawberry.field(description="Its agent type (see agentTypes).")
    capabilities: list[str] = strawberry.field(description="Free-form capability tags.")
    configuration: JSON = strawberry.field(
        description=(
            "Configuration with secret values (keys named like *key, *secret, *token, "
            "*password) redacted."
        )
    )
    resources: Resources = strawberry.field(description="What it asks of its host.")
    state: AgentState = strawberry.field(description="Lifecycle state.")  # type: ignore[valid-type]
    last_seen: datetime | None = strawberry.field(description="Last sign of life of the process.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    row: strawberry.Private[AgentRow]
    # What the list this agent came in read for the whole page (kai.schema.agent_read_ahead):
    # the fields below answer from it without awaiting, else load their own.
    ahead: strawberry.Private[ReadAhead | None] = None

    # owner, status and files return their value, or an awaitable when they must load it
    # (graphql-core awaits what a resolver returns): hence `graphql_type`.
    @strawberry.field(description="Who owns it.", graphql_type=User)
    def owner(self, info: Info) -> User | Awaitable[User]:
        if self.ahead is not None and (user := self.ahead.owners.get(self.row.owner_id)):
            return user
        return self._owner(info)

    async def _owner(self, info: Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.owner_id)
        if user is None:  # deleted meanwhile (its agents go with it)
            raise NotFound("User")
        return User.from_row(user)

    @strawberry.field(description="State, measured health and metrics.", graphql_type=AgentStatus)
    def status(self, info: Info) -> AgentStatus | Awaitable[AgentStatus]:
        if self.ahead is not None and (status := self.ahead.statuses.get(self.row.id)):
            return status
        return AgentStatus.load(info, self.row)

    @strawberry.field(
        description="Its log lines, newest first; `level` keeps that level and above."
    )
    async def logs(
        self,
        info: Info,
        level: LevelAtLeast = None,
        since: Since = None,
        first: First = 50,
        after: After = None,
    ) -> LogConnection:
        page = await info.context.loaders.logs_by_agent_id.load(
            (self.row.id, (level, since, first, after))
        )
        return LogConnection.from_page(page)

    @strawberry.field(description="Its tasks, newest first; `state` keeps those in that state.")
    async def tasks(
        self,
        info: Info,
        state: Annotated[
            TaskState | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only the tasks in this state; null keeps all."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> TaskConnection:
        await info.context.authorize(
            "task.read",
            resource=f"agent:{self.row.id}",
            owner_id=self.row.owner_id,
            agent_id=self.row.id,
            fold=list_field(info),
        )
        loaders = info.context.loaders
        page = await loaders.tasks_by_agent_id.load((self.row.id, (state, first, after)))
        agent_id = self.row.id

        async def count() -> int:
            # Every listed agent's counts by state come from one statement.
            by_state = await loaders.task_counts_by_agent_id.load(agent_id)
            return by_state.get(state, 0) if state is not None else sum(by_state.values())

        return TaskConnection.of(page, TaskEdge, Task.from_row, count=count)

    @strawberry.field(
        description="The caller's threads with it (every one for ADMIN), the most recently "
        "started first, or as `orderBy` says.",
        graphql_type=Annotated["ThreadConnection", strawberry.lazy("kai.schema.thread")],
    )
    async def threads(
        self,
        info: Info,
        order_by: Annotated[
            Annotated[ThreadOrder, strawberry.lazy("kai.schema.thread")] | None,
            strawberry.argument(description=THREAD_ORDER_DESCRIPTION),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="How many, 1 to 500; 20 when left out.")
        ] = 20,
        after: After = None,
    ) -> ThreadConnection:
        from kai.schema.thread import Thread, ThreadConnection, ThreadEdge, thread_sorting

        principal = await info.context.authorize(
            "thread.use",
            resource=f"agent:{self.row.id}",
            owner_id=self.row.owner_id,
            agent_id=self.row.id,
            fold=list_field(info),
        )
        page = await info.context.services.threads.page(
            principal=principal,
            agent_id=self.row.id,
            sorting=thread_sorting(order_by),
            first=first,
            after=after,
        )
        return ThreadConnection.of(page, ThreadEdge, Thread.from_row)

    @strawberry.field(description="Which of its commands and task types wait for a person.")
    def approval_policy(self) -> ApprovalPolicy:
        return ApprovalPolicy.from_value(policy_of(self.row))

    @strawberry.field(
        description="Files uploaded for it, newest first.",
        graphql_type=list[Annotated["File", strawberry.lazy("kai.schema.file")]],
    )
    def files(self, info: Info) -> list[File] | Awaitable[list[File]]:
        principal = info.context.known_principal
        files = self.ahead.files.get(self.row.id) if self.ahead is not None else None
        if files is None or principal is None:
            return self._files(info)
        # The same check and audit as below, with nothing to await.
        info.context.authorize_known(principal, "file.download", **self._file_check(info))
        return files

    async def _files(self, info: Info) -> list[File]:
        from kai.schema.file import File

        await info.context.authorize("file.download", **self._file_check(info))
        rows = await info.context.loaders.files_by_agent_id.load(self.row.id)
        return [File.from_row(row) for row in rows]

    def _file_check(self, info: Info) -> dict[str, Any]:
        return {
            "resource": f"agent:{self.row.id}",
            "owner_id": self.row.owner_id,
            "agent_id": self.row.id,
            "fold": list_field(info),
        }

    @classmethod
    def from_row(cls, row: AgentRow) -> Agent:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            type=row.type,
            capabilities=list(row.capabilities),
            configuration=redact(row.configuration),
            resources=Resources(**row.resources),
            state=row.state,
            last_seen=row.last_seen,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )


@strawberry.input(description="What the agent asks of its host.")
class ResourcesInput:
    memory: str | None = strawberry.field(default="512Mi", description="e.g. 512Mi")
    cpu: str | None = strawberry.field(default="0.5", description="e.g. 0.5 or 500m")
    storage: str | None = strawberry.field(default="1Gi", description="e.g. 1Gi")
    gpu: bool | None = strawberry.field(default=False, description="Whether it wants a GPU.")

    def as_dict(self) -> dict[str, Any]:
        return {"memory": self.memory, "cpu": self.cpu, "storage": self.storage, "gpu": self.gpu}


@strawberry.input(description="A new agent.")
class AgentConfigInput:
    name: str = strawberry.field(description="1 to 100 characters.")
    type: str = strawberry.field(description="One of agentTypes.")
    capabilities: list[str] | None = strawberry.field(
        default_factory=list, description="Free-form tags."
    )
    configuration: JSON | None = strawberry.field(
        default_factory=dict, description="Must satisfy the type's configSchema."
    )
    resources: ResourcesInput | None = strawberry.field(
        default=None, description="Defaults as in ResourcesInput."
    )
    approval_policy: ApprovalPolicyInput | None = strawberry.field(
        default=None, description="Which of its work waits for a person; null: none does."
    )


@strawberry.input(description="Changes to an agent; what is left out stays as it is.")
class AgentConfigPatch:
    name: str | None = strawberry.field(default=None, description="A new name.")
    capabilities: list[str] | None = strawberry.field(default=None, description="New tags.")
    configuration: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new configuration; redacted secrets sent back keep their stored value.",
    )
    resources: ResourcesInput | None = strawberry.field(
        default=None, description="New resource requests."
    )
    approval_policy: ApprovalPolicyInput | None = strawberry.field(
        default=None, description="A new approval policy, replacing the whole of the old one."
    )
