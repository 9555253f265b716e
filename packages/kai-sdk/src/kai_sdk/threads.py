"""A thread, as a remote agent's prompt handler sees it.

A message posted to a thread reaches the agent as a PROMPT whose payload also holds the
thread's id and its messages (oldest first, the one to answer last, trimmed by the server
to its history budget). A prompt handler that takes a third parameter gets them:

    @agent.prompt
    async def answer(prompt, options, thread):
        if thread is not None:
            for message in thread.messages:
                ...  # message.role: "system" | "user" | "assistant" | "tool"
        yield "..."

`thread` is None for a plain prompt (streamPrompt). A handler of two parameters gets the
newest message as `prompt`, as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Thread:
    id: str
    messages: tuple[ChatMessage, ...]


def thread_of(payload: dict[str, Any]) -> Thread | None:
    """The thread a PROMPT payload carries, if it carries one."""
    thread_id = payload.get("threadId")
    if not isinstance(thread_id, str):
        return None
    messages = payload.get("messages")
    turns = tuple(
        ChatMessage(role=str(m.get("role")), content=str(m.get("content")))
        for m in (messages if isinstance(messages, list) else [])
        if isinstance(m, dict)
    )
    return Thread(id=thread_id, messages=turns)


def takes_thread(handler: Callable[..., Any]) -> bool:
    """Whether a prompt handler declares a third parameter (for the thread)."""
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in positional)
