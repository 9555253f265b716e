"""kai_sdk.client's threads (packages/kai-sdk/graphql/operations/threads.graphql, `ask`,
`iter_threads`, `iter_messages`) against a real server on its own thread
(tests/test_client_python.py's), with KaiClient and AsyncKaiClient: a thread made, an
llm agent's answer streamed chunk by chunk from the fake OpenAI server and kept, an
answer stopped by closing the generator kept as far as it got (interrupted), CONFLICT
while the thread answers, postMessage, the history read back oldest first and backwards
from the newest, and deletion."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import aclosing, closing
from typing import Any

import pytest

from kai_sdk.client import AsyncKaiClient, ConflictError, KaiClient, NotFoundError, aio, sync
from tests.support.fake_openai import FakeOpenAI
from tests.support.threaded_app import app_on_a_thread
from tests.test_client_python import WAIT, akai, kai, server

__all__ = ["akai", "kai", "server"]  # fixtures

WORDS = ["one ", "two ", "three ", "four ", "five ", "six"]
WHOLE = "".join(WORDS)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """Six chunks, 0.2 s apart: an answer takes over a second, so it can be stopped."""
    llm = FakeOpenAI(chunks=list(WORDS), chunk_delay=0.2)
    with app_on_a_thread(llm.app()) as url:
        llm.base_url = f"{url}/v1"
        yield llm


def _config(fake: FakeOpenAI) -> dict[str, Any]:
    return {"baseUrl": fake.base_url, "model": "m", "apiKey": fake.api_key}


def _until(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)
    return found


def test_threads_sync(kai: KaiClient, fake: FakeOpenAI) -> None:
    agent = kai.create_agent(
        sync.AgentConfigInput(name="writer", type_="llm", configuration=_config(fake))
    ).create_agent
    _until(lambda: kai.agent(agent.id).agent.state == sync.AgentState.RUNNING)  # type: ignore[union-attr]
    made = kai.create_thread(
        sync.ThreadInput(agent_id=agent.id, title="Counting", metadata={"k": 1})
    ).create_thread

    answer = list(kai.ask(made.id, "count"))
    # Slower answers (the fake reads its pause once per request) for those stopped or
    # interrupted while they go on: their time is what stopping has, however busy the machine.
    fake.chunk_delay = 1.0
    with closing(kai.ask(made.id, "count again")) as stopped:
        first = next(stopped)
    _until(lambda: not kai.thread(made.id).thread.busy)  # type: ignore[union-attr]
    fake.chunk_delay = 0.5
    queued: list[str] = []

    def queue() -> None:
        queued.extend(c.delta for c in kai.ask(made.id, "me too", on_busy=sync.BusyPolicy.QUEUE))

    with closing(kai.ask(made.id, "once more")) as running:
        next(running)
        with pytest.raises(ConflictError):
            kai.post_message(made.id, sync.MessageInput(content="me too"))
        fake.chunk_delay = 0.2
        waiting = threading.Thread(target=queue)
        waiting.start()
        rest = [chunk.delta for chunk in running]
    waiting.join(WAIT)
    after = "".join(queued)
    posted = kai.post_message(made.id, sync.MessageInput(content="last")).post_message
    history = list(kai.iter_messages(made.id, page_size=3))
    newest = kai.thread(made.id, with_messages=True, last=2).thread
    listed = [thread.id for thread in kai.iter_threads(agent.id)]

    assert (made.title, made.metadata, made.busy, made.agent.id) == (
        "Counting",
        {"k": 1},
        False,
        agent.id,
    )
    assert [chunk.delta for chunk in answer] == [*WORDS, ""]
    assert answer[-1].done and not any(chunk.done for chunk in answer[:-1])
    assert first.delta == "one "
    assert "".join(["one ", *rest]) == WHOLE and after == WHOLE
    assert (posted.role, posted.content) == (sync.MessageRole.ASSISTANT, WHOLE)
    said = [(m.role.value, m.content, m.interrupted) for m in history]
    assert said[:2] == [("USER", "count", False), ("ASSISTANT", WHOLE, False)]
    assert said[2][:2] == ("USER", "count again")
    assert said[3][0] == "ASSISTANT" and said[3][2] is True and said[3][1] != WHOLE
    assert said[3][1].startswith("one ")
    assert said[4:] == [
        ("USER", "once more", False),
        ("ASSISTANT", WHOLE, False),
        ("USER", "me too", False),
        ("ASSISTANT", WHOLE, False),
        ("USER", "last", False),
        ("ASSISTANT", WHOLE, False),
    ]
    assert [m.seq for m in history] == sorted(m.seq for m in history)
    assert history[1].usage is not None and history[1].usage.completion_tokens == len(WORDS)
    assert newest is not None and newest.messages is not None
    assert [edge.node.id for edge in newest.messages.edges] == [m.id for m in history[-2:]]
    assert newest.messages.page_info.has_previous_page is True
    assert newest.messages.total_count == len(history) == 10
    assert listed == [made.id]
    assert kai.delete_thread(made.id).delete_thread == made.id
    with pytest.raises(NotFoundError):
        list(kai.iter_messages(made.id))


@pytest.fixture
async def llm_agent(akai: AsyncKaiClient, fake: FakeOpenAI) -> str:
    config = aio.AgentConfigInput(name="writer", type_="llm", configuration=_config(fake))
    return (await akai.create_agent(config)).create_agent.id


async def test_threads_async(akai: AsyncKaiClient, llm_agent: str, fake: FakeOpenAI) -> None:
    made = (await akai.create_thread(aio.ThreadInput(agent_id=llm_agent))).create_thread
    for _ in range(200):
        if (await akai.agent(llm_agent)).agent.state == aio.AgentState.RUNNING:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    async with aclosing(akai.ask(made.id, "count")) as chunks:
        deltas = [chunk.delta async for chunk in chunks]
    fake.chunk_delay = 1.0  # read once per request: time for the stop, however busy the machine
    async with aclosing(akai.ask(made.id, "stop me")) as stopped:
        async for chunk in stopped:
            assert chunk.delta == "one "
            break
    async with aclosing(akai.iter_threads()) as threads:
        listed = [thread.id async for thread in threads]
    for _ in range(400):
        thread = (await akai.thread(made.id)).thread
        assert thread is not None
        if not thread.busy:
            break
        await asyncio.sleep(0.05)
    async with aclosing(akai.iter_messages(made.id)) as messages:
        history = [(m.role.value, m.content, m.interrupted) async for m in messages]

    assert "".join(deltas) == WHOLE
    assert listed == [made.id]
    assert history[:3] == [
        ("USER", "count", False),
        ("ASSISTANT", WHOLE, False),
        ("USER", "stop me", False),
    ]
    assert history[3][2] is True and history[3][1].startswith("one ") and history[3][1] != WHOLE
    assert (await akai.delete_thread(made.id)).delete_thread == made.id
