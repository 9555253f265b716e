"""Commands and prompts for an agent, their outcomes and the streamed pieces of an answer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from kai.context import Info
from kai.models.command import CommandRecord
from kai.services.command import Chunk

if TYPE_CHECKING:
    from kai.schema.approval import Approval


@strawberry.type(description="The outcome of a command.")
class CommandResult:
    success: bool = strawberry.field(description="Whether the command succeeded.")
    result: JSON | None = strawberry.field(description="What it returned.")
    error: str | None = strawberry.field(description="Why it failed.")
    timestamp: datetime = strawberry.field(description="When it finished.")
    duration_ms: float = strawberry.field(description="How long it ran, in milliseconds.")
    command_id: strawberry.Private[str]

    @strawberry.field(
        description="Set when the command waits for a person: success is false until decided."
    )
    async def approval(
        self, info: Info
    ) -> Annotated[Approval, strawberry.lazy("kai.schema.approval")] | None:
        from kai.schema.approval import Approval

        row = await info.context.loaders.approval_by_command_id.load(self.command_id)
        return None if row is None else Approval.from_row(row)

    @classmethod
    def from_record(cls, record: CommandRecord) -> CommandResult:
        return cls(
            success=bool(record.success),
            result=record.result,
            error=record.error,
            timestamp=record.completed_at or record.created_at,
            duration_ms=record.duration_ms or 0.0,
            command_id=record.id,
        )


@strawberry.type(description="A piece of an agent's streamed answer.")
class StreamChunk:
    stream_id: strawberry.ID = strawberry.field(description="Names this answer.")
    index: int = strawberry.field(description="0, 1, 2, ... in order.")
    delta: str = strawberry.field(description="The next piece of text.")
    done: bool = strawberry.field(description="True on the last chunk only.")
    interrupted: bool = strawberry.field(
        default=False,
        description="On the last chunk of a thread's answer: it was cut short (a later "
        "message with onBusy INTERRUPT), and is stored as far as it got.",
    )

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> StreamChunk:
        return cls(
            stream_id=strawberry.ID(chunk.stream_id),
            index=chunk.index,
            delta=chunk.delta,
            done=chunk.done,
            interrupted=chunk.interrupted,
        )


@strawberry.input(description="A command for an agent.")
class AgentCommandInput:
    command: str = strawberry.field(description="The command's name.")
    params: JSON | None = strawberry.field(default_factory=dict, description="Its parameters.")


@strawberry.input(description="A prompt for an agent.")
class StreamPromptInput:
    prompt: str = strawberry.field(description="The text.")
    options: JSON | None = strawberry.field(default=None, description="Runtime-specific options.")
