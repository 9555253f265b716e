"""One answer at a time per thread across replicas: two servers on one PostgreSQL database,
their hubs on Redis. A message sent to the other replica while one answers is refused
(REJECT), waits for the answer's end heard over Redis (QUEUE), or stops it there (INTERRUPT)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import postgres_database
from tests.support.fake_openai import FakeOpenAI
from tests.support.redis_server import redis_url_or_skip
from tests.support.servers import serve_app
from tests.support.subscriptions import Server, kai_server
from tests.test_threads import MESSAGES, contents, create_llm, create_thread, messages, post

SECRET = "a-test-secret-that-both-replicas-share-0123456789"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:  # empty: replica A migrates it on start
        yield url


async def test_busy_policies_hold_across_replicas(database_url: str, tmp_path: Path) -> None:
    redis = redis_url_or_skip()
    # 0.6 s between chunks: an answer (2.4 s) outlasts the CONFLICT asked of replica B while
    # it runs, on a busy machine too (with 0.3 s, about a second was left).
    fake = FakeOpenAI(chunk_delay=0.6)
    shared: dict[str, Any] = {
        "jwt_secret": SECRET,
        "broadcast_url": redis,
        "thread_run_lease_seconds": 5,
    }
    async with (
        serve_app(fake.app()) as llm_url,
        kai_server(database_url, tmp_path / "a", **shared) as a,
        kai_server(database_url, tmp_path / "b", **shared) as b,
    ):
        fake.base_url = f"{llm_url}/v1"
        token = str((await a.client.register("owner@example.com"))["accessToken"])
        agent_id = await create_llm(a.client, token, fake)
        thread_id = await create_thread(a.client, token, agent_id)

        running = asyncio.create_task(post(a.client, token, thread_id, "on a"))
        await _busy_on(b, token, thread_id)
        assert (await post(b.client, token, thread_id, "on b")).codes == ["CONFLICT"]
        queued = asyncio.create_task(
            post(b.client, token, thread_id, "queued on b", onBusy="QUEUE")
        )
        (await running).ok()
        (await queued).ok()

        fake.chunk_delay = 1.0
        slow = asyncio.create_task(post(a.client, token, thread_id, "slow on a"))
        await _busy_on(b, token, thread_id)
        await asyncio.sleep(1.2)
        fake.chunk_delay = 0
        cutting = (await post(b.client, token, thread_id, "stop, from b", onBusy="INTERRUPT")).ok()
        cut = (await slow).ok()["postMessage"]
        page = await messages(b.client, token, thread_id)

    assert cut["interrupted"] is True
    assert cutting["postMessage"]["interrupted"] is False
    assert contents(page) == [
        ("USER", "on a"),
        ("ASSISTANT", "Hello, world!"),
        ("USER", "queued on b"),
        ("ASSISTANT", "Hello, world!"),
        ("USER", "slow on a"),
        ("ASSISTANT", cut["content"]),
        ("USER", "stop, from b"),
        ("ASSISTANT", "Hello, world!"),
    ]


async def _busy_on(server: Server, token: str, thread_id: str) -> None:
    for _ in range(200):
        result = await server.client.execute(MESSAGES, {"id": thread_id}, token=token)
        if result.ok()["thread"]["busy"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the thread never became busy")
