"""Approvals across processes: two real `kai serve` replicas and a `kai worker` on
PostgreSQL and Redis. A task queued on replica A awaits approval; a person connected to
replica B sees it on approvalRequests and approves it there; the worker runs it. Two
people deciding at once on different replicas: one wins. Approvals nobody decides expire
once, whichever of the three processes' sweeps gets there first."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from kai.db import create_engine, create_sessionmaker
from kai.models.agent_event import AgentEvent, AgentEventType
from tests.support.approvals import (
    DECIDE,
    ENQUEUE,
    REQUESTS,
    TASK,
    UPDATE_AGENT,
    Person,
    person,
)
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import processes
from tests.support.redis_server import RedisProcess
from tests.support.servers import clean_env
from tests.support.settings import TEST_SECRET
from tests.support.tasks import eventually
from tests.support.ws_client import TRANSPORT_WS, ws_connect

pytestmark = pytest.mark.slow

EXPIRING = 4


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:  # empty: replica A migrates it on start
        yield url


async def test_a_task_asked_on_one_replica_is_approved_on_another_and_expiry_happens_once(
    database_url: str, redis: RedisProcess, tmp_path: Path
) -> None:
    def env(name: str) -> dict[str, str]:
        return clean_env(
            KAI_DATABASE_URL=database_url,
            KAI_REDIS_URL=redis.url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / name),
            KAI_QDRANT_URL=":memory:",
            KAI_TASK_SWEEP_SECONDS="0.1",
        )

    with processes() as running:
        a = running.serve("replica A", env("a"))
        try:
            await a.ready()
            b = running.serve("replica B", env("b"))
            worker = running.worker("worker", env("w"))
            await asyncio.gather(b.ready(), worker.ready())
            async with (
                httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
                httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
            ):
                await approved_across_replicas(GraphQLClient(on_a), GraphQLClient(on_b), b.url)
                await expired_once(GraphQLClient(on_a), database_url)
        except BaseException:
            print(running.logs())
            raise


async def approved_across_replicas(on_a: GraphQLClient, on_b: GraphQLClient, b_url: str) -> None:
    admin = await person(on_a, "admin@example.com")
    owner = await person(on_a, "owner@example.com")
    agent_id = await owner.agent()
    async with ws_connect(b_url, TRANSPORT_WS, token=owner.token) as socket:
        op_id = await socket.subscribe(REQUESTS)
        await socket.alive()
        task = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
        assert task["state"] == "AWAITING_APPROVAL"
        seen = (await socket.next(op_id, timeout=20))["approvalRequests"]
        assert seen["id"] == task["approval"]["id"] and seen["kind"] == "TASK"
    on_b_owner = Person(on_b, owner.email, owner.token, owner.user_id)
    decided = await on_b_owner.run(DECIDE, id=seen["id"], approve=True, reason="on B")
    assert decided["decideApproval"]["state"] == "APPROVED"

    async def completed() -> dict[str, Any] | None:
        found = (await owner.run(TASK, id=task["id"]))["task"]
        return found if found["state"] == "COMPLETED" else None

    done = await eventually(completed, timeout=30)
    assert done["approval"]["decidedBy"] == {"email": owner.email}

    # Two people at once, one on each replica: one decision, the other CONFLICT.
    other_task = await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"})
    approval_id = other_task["enqueueTask"]["approval"]["id"]
    on_b_admin = Person(on_b, admin.email, admin.token, admin.user_id)
    answers = await asyncio.gather(
        owner.attempt(DECIDE, id=approval_id, approve=True),
        on_b_admin.attempt(DECIDE, id=approval_id, approve=False),
    )
    assert sorted(answer.codes for answer in answers) == [[], ["CONFLICT"]]


async def expired_once(on_a: GraphQLClient, database_url: str) -> None:
    owner = await person(on_a, "expiring@example.com")
    agent_id = await owner.agent()
    await owner.run(
        UPDATE_AGENT,
        id=agent_id,
        input={"approvalPolicy": {"taskTypes": ["*"], "timeoutSeconds": 1}},
    )
    tasks = [
        (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
        for _ in range(EXPIRING)
    ]

    async def all_cancelled() -> bool:
        states = [(await owner.run(TASK, id=t["id"]))["task"]["state"] for t in tasks]
        return states == ["CANCELLED"] * EXPIRING

    await eventually(all_cancelled, timeout=30)
    await asyncio.sleep(1)  # every process has swept again since
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(AgentEvent).where(
                    col(AgentEvent.agent_id) == agent_id,
                    col(AgentEvent.type) == AgentEventType.APPROVAL_DECIDED,
                )
            )
            decided = Counter(row.data["approvalId"] for row in rows)
    finally:
        await engine.dispose()
    assert sorted(decided) == sorted(t["approval"]["id"] for t in tasks)
    assert set(decided.values()) == {1}, "an approval expired more than once"
