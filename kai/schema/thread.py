from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info
from kai.errors import NotFound
from kai.models.thread import Message as MessageRow
from kai.models.thread import MessageRole as MessageRoleValue
from kai.models.thread import Thread as ThreadRow
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.pagination import After, CountedConnection, Edge, OrderDirection, sorting
from kai.services.conversation import BusyPolicy as BusyPolicyValue
from kai.services.pagination import Sorting
from kai.services.thread_runs import lease_held

if TYPE_CHECKING:
    from kai.schema.agent import Agent

MessageRole = described_enum(
    MessageRoleValue,
    name="MessageRole",
    description="Who a message of a thread is from.",
    values={
        "SYSTEM": "Instructions to the agent.",
        "USER": "The person (or program) talking with the agent.",
        "ASSISTANT": "The agent's answer.",
        "TOOL": "The output of a tool the agent used.",
    },
)

BusyPolicy = described_enum(
    BusyPolicyValue,
    name="BusyPolicy",
    description="What a message does when its thread is still answering another.",
    values={
        "REJECT": "Refuse with CONFLICT while the thread is answering.",
        "QUEUE": "Answer after the current run.",
        "INTERRUPT": "Cancel the current run and answer this one.",
    },
)


@strawberry.type(description="Tokens an answer took, as the agent's endpoint reported them.")
class Usage:
    prompt_tokens: int | None = strawberry.field(description="Tokens of what was sent.")
    completion_tokens: int | None = strawberry.field(description="Tokens of the answer.")


@strawberry.type(description="A stored message of a thread.")
class Message(Node):
    id: strawberry.ID = strawberry.field(description="Opaque message id.")
    role: MessageRole = strawberry.field(description="Who it is from.")  # type: ignore[valid-type]
    content: str = strawberry.field(description="Its text (an answer cut short: as far as it got).")
    seq: int = strawberry.field(
        description="The agent event that carried it: history and live events share one "
        "cursor (follow agentEvents(after: seq) from the newest)."
    )
    usage: Usage | None = strawberry.field(
        description="An answer's tokens, when the endpoint reported them."
    )
    interrupted: bool = strawberry.field(
        description="An answer cut short: by a later message (onBusy INTERRUPT) or because "
        "its asker left."
    )
    created_at: datetime = strawberry.field(description="When it was stored.")
    row: strawberry.Private[MessageRow]
    # Its thread, when whoever made it had it at hand (a page of the thread's messages).
    thread_row: strawberry.Private[ThreadRow | None] = None

    @strawberry.field(description="The thread it belongs to.")
    async def thread(self, info: Info) -> Thread:
        row = self.thread_row or await info.context.services.threads.get(
            thread_id=self.row.thread_id
        )
        if row is None:
            raise NotFound("Thread")
        return Thread.from_row(row)

    @classmethod
    def from_row(cls, row: MessageRow, thread: ThreadRow | None = None) -> Message:
        usage = None
        if row.prompt_tokens is not None or row.completion_tokens is not None:
            usage = Usage(prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens)
        return cls(
            id=strawberry.ID(row.id),
            role=row.role,
            content=row.content,
            seq=row.seq,
            usage=usage,
            interrupted=row.interrupted,
            created_at=row.created_at,
            row=row,
            thread_row=thread,
        )


@strawberry.type(description="One message of a page and its cursor.")
class MessageEdge(Edge[Message]):
    pass


@strawberry.type(description="A page of a thread's messages, oldest first.")
class MessageConnection(CountedConnection[MessageEdge]):
    pass


@strawberry.type(description="A conversation with one agent, kept.")
class Thread(Node):
    id: strawberry.ID = strawberry.field(description="Opaque thread id.")
    title: str | None = strawberry.field(description="Up to 200 characters.")
    metadata: JSON | None = strawberry.field(description="The client's own, as it set it.")
    busy: bool = strawberry.field(description="True while an answer is being produced.")
    created_at: datetime = strawberry.field(description="When it was started.")
    updated_at: datetime = strawberry.field(description="When its latest message was stored.")
    row: strawberry.Private[ThreadRow]

    @strawberry.field(description="The agent it talks with.")
    async def agent(self, info: Info) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")]:
        from kai.schema.agent import Agent

        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        if row is None:  # deleted meanwhile, and the thread with it
            raise NotFound("Agent")
        return Agent.from_row(row)

    @strawberry.field(
        description="Oldest first; `last`/`before` page backwards from the newest "
        "(pageInfo.hasPreviousPage and startCursor say what is left)."
    )
    async def messages(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="How many from the oldest, 1 to 500.")
        ] = None,
        after: After = None,
        last: Annotated[
            int | None, strawberry.argument(description="How many from the newest, 1 to 500.")
        ] = None,
        before: Annotated[
            str | None,
            strawberry.argument(description="A cursor: the page ends just before it."),
        ] = None,
    ) -> MessageConnection:
        page = await info.context.services.threads.messages(
            thread_id=self.row.id, first=first, after=after, last=last, before=before
        )
        thread = self.row
        return MessageConnection.of(page, MessageEdge, lambda row: Message.from_row(row, thread))

    @classmethod
    def from_row(cls, row: ThreadRow) -> Thread:
        return cls(
            id=strawberry.ID(row.id),
            title=row.title,
            metadata=row.metadata_,
            busy=lease_held(row),
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )


@strawberry.type(description="One thread of a page and its cursor.")
class ThreadEdge(Edge[Thread]):
    pass


@strawberry.type(
    description="A page of threads, in the order asked for (by default the most recently "
    "started first)."
)
class ThreadConnection(CountedConnection[ThreadEdge]):
    pass


@strawberry.enum(description="What threads can be sorted by (then by id).")
class ThreadOrderField(enum.Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was started.")
    UPDATED_AT = strawberry.enum_value(
        "UPDATED_AT", description="When its latest message was stored."
    )


@strawberry.input(description="How to sort threads.")
class ThreadOrder:
    field: ThreadOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(description="Which way.")


# The `orderBy` argument of `threads` and `Agent.threads`.
THREAD_ORDER_DESCRIPTION = (
    "How to sort; null: CREATED_AT DESC, the most recently started first. UPDATED_AT DESC "
    "lists threads by last activity, as a chat list does; but a thread that gets a message "
    "while you page moves to the front (to the end, ASC), so a page read later may repeat "
    "it or miss it: read again from the start (no `after`) to see the newest."
)


def thread_sorting(order: ThreadOrder | None) -> Sorting:
    return sorting(order, "CREATED_AT")


@strawberry.input(description="A new thread.")
class ThreadInput:
    agent_id: strawberry.ID = strawberry.field(description="The agent to talk with.")
    title: str | None = strawberry.field(default=None, description="Up to 200 characters.")
    metadata: JSON | None = strawberry.field(
        default=None, description="Anything the client keeps with it: a JSON object, 16 KB."
    )


@strawberry.input(description="A message to a thread.")
class MessageInput:
    content: str = strawberry.field(
        description="The text; at most KAI_MAX_MESSAGE_CHARS characters."
    )
    options: JSON | None = strawberry.field(
        default=None,
        description="Overrides the agent type allows (e.g. temperature, maxTokens).",
    )
    on_busy: BusyPolicy | None = strawberry.field(  # type: ignore[valid-type]
        default=BusyPolicyValue.REJECT,
        description="What to do while the thread answers another message (null: REJECT).",
    )
