"""Approvals: a person's decision that chosen work waits for."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info, list_field
from kai.errors import NotFound
from kai.models.approval import Approval as ApprovalRow
from kai.models.approval import ApprovalKind as ApprovalKindValue
from kai.models.approval import ApprovalState as ApprovalStateValue
from kai.schema.command import CommandResult
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.pagination import CountedConnection, Edge
from kai.schema.task import Task
from kai.schema.user import User
from kai.services.approval_queries import ApprovalFilter as ApprovalFilterValue

if TYPE_CHECKING:
    from kai.schema.agent import Agent

ApprovalKind = described_enum(
    ApprovalKindValue,
    name="ApprovalKind",
    description="What an approval gates.",
    values={
        "COMMAND": "A command sendCommand held: it runs when approved.",
        "TASK": "A task enqueueTask made AWAITING_APPROVAL: it becomes PENDING when approved.",
        "ACTION": "Something a remote agent's process asked about with requestApproval.",
    },
)
ApprovalState = described_enum(
    ApprovalStateValue,
    name="ApprovalState",
    description="Where an approval is: PENDING, then decided once.",
    values={
        "PENDING": "Waiting for a person, until expiresAt.",
        "APPROVED": "A person let the work go ahead.",
        "REJECTED": "A person refused it (or the task was cancelled while it waited).",
        "EXPIRED": "Nobody decided in time: the work was refused.",
    },
)


async def _user(info: Info, user_id: str | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(
    description="A person's decision that chosen work waits for: a command, a task, or what "
    "a remote agent's process asked about. Decided once; expired when nobody decides in time."
)
class Approval(Node):
    id: strawberry.ID = strawberry.field(description="Opaque approval id.")
    kind: ApprovalKind = strawberry.field(description="What it gates.")  # type: ignore[valid-type]
    subject: JSON = strawberry.field(
        description="What would run: the command and params, the task input, or what a "
        "remote agent asked about."
    )
    state: ApprovalState = strawberry.field(description="Where it is.")  # type: ignore[valid-type]
    reason: str | None = strawberry.field(
        description="Why it was decided so, as its decider wrote it (or why it expired)."
    )
    created_at: datetime = strawberry.field(description="When it was requested.")
    expires_at: datetime | None = strawberry.field(
        description="When it expires if nobody decides it first."
    )
    decided_at: datetime | None = strawberry.field(
        description="When it was decided or expired; null while PENDING."
    )
    row: strawberry.Private[ApprovalRow]

    @strawberry.field(description="The agent whose work it gates.")
    async def agent(self, info: Info) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")]:
        from kai.schema.agent import Agent

        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        if row is None:  # deleted meanwhile, and its approvals with it
            raise NotFound("Agent")
        return Agent.from_row(row)

    @strawberry.field(
        description="Whose request waits: who sent the command or queued the task, or the "
        "owner of the key a remote agent's process asked with."
    )
    async def requested_by(self, info: Info) -> User:
        user = await _user(info, self.row.requested_by)
        if user is None:
            raise NotFound("User")
        return user

    @strawberry.field(description="Who decided it; null while PENDING and when it expired.")
    async def decided_by(self, info: Info) -> User | None:
        return await _user(info, self.row.decided_by)

    @strawberry.field(
        description="The task it gates (kind TASK; null for the others): AWAITING_APPROVAL "
        "while it waits, then on its way once approved, or CANCELLED when refused or expired. "
        "Needs task.read."
    )
    async def task(self, info: Info) -> Task | None:
        if self.row.task_id is None:
            return None
        agent = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        await info.context.authorize(
            "task.read",
            resource=f"task:{self.row.task_id}",
            owner_id=agent.owner_id if agent is not None else None,
            found=agent is not None,
            agent_id=self.row.agent_id,
            fold=list_field(info),
        )
        row = await info.context.loaders.task_by_id.load(self.row.task_id)
        return None if row is None else Task.from_row(row)

    @strawberry.field(
        description="The outcome of the command it gates (kind COMMAND; null for the others), "
        "once there is one: null while it waits for a person or runs; success false with the "
        "reason when it was refused or expired."
    )
    async def command_result(self, info: Info) -> CommandResult | None:
        if self.row.command_id is None:
            return None
        record = await info.context.loaders.command_by_id.load(self.row.command_id)
        if record is None or record.completed_at is None:
            return None
        return CommandResult.from_record(record)

    @classmethod
    def from_row(cls, row: ApprovalRow) -> Approval:
        return cls(
            id=strawberry.ID(row.id),
            kind=row.kind,
            subject=JSON(row.subject),
            state=row.state,
            reason=row.reason,
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_at=row.decided_at,
            row=row,
        )


@strawberry.type(description="An approval in a page.")
class ApprovalEdge(Edge[Approval]):
    pass


@strawberry.type(description="A page of approvals.")
class ApprovalConnection(CountedConnection[ApprovalEdge]):
    pass


@strawberry.input(description="Which approvals to list; every condition given must hold.")
class ApprovalFilter:
    agent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the approvals of this agent."
    )
    states: list[ApprovalState] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only approvals in one of these states (at most 100)."
    )
    kinds: list[ApprovalKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only approvals of one of these kinds (at most 100)."
    )

    def value(self) -> ApprovalFilterValue:
        return ApprovalFilterValue(
            agent_id=str(self.agent_id) if self.agent_id is not None else None,
            states=self.states,
            kinds=self.kinds,
        )
