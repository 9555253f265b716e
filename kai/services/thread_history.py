"""What an agent is sent of a thread: its newest messages within a budget of tokens.

Tokens are counted from what the endpoint reported where it did (an answer's completion
tokens), and estimated otherwise at four characters a token, OpenAI's rule of thumb for
English; no tokenizer is loaded, since the model behind an OpenAI-compatible endpoint is
unknown. The newest message is always sent, whatever its size, and the system prompt's
share is set aside first; then older messages, newest first, while they fit. The oldest
are dropped first, whole: a message is never cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.models.thread import Message, MessageRole
from kai.runtimes.base import Conversation, Turn

CHARS_PER_TOKEN = 4
# Messages read per statement while walking back through a long thread.
BATCH = 200


class Said(NamedTuple):
    """What the history needs of a stored message: read as plain columns, not as ORM
    objects (a full budget is hundreds of messages, read for every answer)."""

    seq: int
    role: MessageRole
    content: str
    completion_tokens: int | None


def estimated_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def message_tokens(message: Said) -> int:
    if message.role is MessageRole.ASSISTANT and message.completion_tokens is not None:
        return message.completion_tokens
    return estimated_tokens(message.content)


def within_budget(newest_first: Sequence[Said], budget: int) -> list[Said]:
    """The messages to send, oldest first: the newest always, then older ones while the
    total stays within `budget`."""
    kept: list[Said] = []
    total = 0
    for message in newest_first:
        cost = message_tokens(message)
        if kept and total + cost > budget:
            break
        kept.append(message)
        total += cost
    return kept[::-1]


def turn_of(message: Said) -> Turn:
    return Turn(role=message.role.value.lower(), content=message.content)


COLUMNS = (
    col(Message.seq),
    col(Message.role),
    col(Message.content),
    col(Message.completion_tokens),
)


async def conversation(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    thread_id: str,
    up_to_seq: int,
    budget: int,
    reserved: str | None = None,
) -> Conversation:
    """The thread up to and including the message at `up_to_seq`, trimmed to `budget`
    tokens (less what `reserved`, a system prompt sent besides, takes)."""
    left = budget - (estimated_tokens(reserved) if reserved else 0)
    newest_first: list[Said] = []
    total = 0
    before = up_to_seq + 1
    async with sessionmaker() as session:
        while True:
            rows = await session.execute(
                select(*COLUMNS)
                .where(col(Message.thread_id) == thread_id, col(Message.seq) < before)
                .order_by(col(Message.seq).desc())
                .limit(BATCH)
            )
            batch = [Said(*row) for row in rows]
            newest_first.extend(batch)
            total += sum(message_tokens(m) for m in batch)
            if len(batch) < BATCH or total > left:
                break
            before = batch[-1].seq
    kept = within_budget(newest_first, left)
    return Conversation(thread_id=thread_id, turns=tuple(turn_of(m) for m in kept))
