"""Webhook deliveries survive a worker killed mid-request: a real `kai serve` and `kai
worker` on PostgreSQL and Redis, a receiver on loopback that verifies every signature; the
worker is killed (SIGKILL) while the receiver holds one of its requests, a new worker
starts, and every event reaches the receiver at least once, in seq order, with the same
`webhook-id` on a repeat, so that the receiver's deduplication leaves each event once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import create_engine, create_sessionmaker
from kai.models.webhook import DeliveryState, WebhookDelivery
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import processes
from tests.support.redis_server import RedisProcess
from tests.support.servers import clean_env
from tests.support.settings import TEST_SECRET
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.slow

CREATE = """
mutation Create($input: WebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }
"""
COMMANDS = 24


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:  # empty: kai serve migrates it on start
        yield url


async def test_every_event_is_delivered_at_least_once_across_a_killed_worker(
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
            KAI_WEBHOOK_POLL_SECONDS="0.05",
            KAI_WEBHOOK_LEASE_SECONDS="3",
            KAI_WEBHOOK_TIMEOUT_SECONDS="2",
            KAI_WEBHOOK_RETRY_SECONDS="0.2,0.2,0.2,0.2,0.2,0.2",
        )

    held = asyncio.Event()
    release = asyncio.Event()

    async with webhook_receiver() as receiver:

        async def slow(number: int) -> int:
            if number == 8:  # the eighth request is held until its worker is dead
                held.set()
                await release.wait()
            else:
                await asyncio.sleep(0.05)
            return 200

        receiver.answers["/events"] = slow
        engine = create_engine(database_url)
        with processes() as running:
            try:
                server = running.serve("kai serve", env("a"))
                await server.ready()
                worker = running.worker("worker 1", env("w1"))
                await worker.ready()
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                    client = GraphQLClient(http)
                    token = await signed_in(client)
                    agent = await create_echo(client, token)
                    made = await client.execute(
                        CREATE,
                        {
                            "input": {
                                "url": f"{receiver.url}/events",
                                "eventTypes": ["COMMAND_RESULT"],
                            }
                        },
                        token=token,
                    )
                    receiver.secrets.append(made.ok()["createWebhook"]["secret"])
                    for number in range(COMMANDS):
                        sent = await client.execute(
                            COMMAND,
                            {"agentId": agent["id"], "command": {"command": f"c{number}"}},
                            token=token,
                        )
                        sent.ok()

                async with asyncio.timeout(30):
                    await held.wait()
                worker.kill()  # mid-request: the receiver still holds it
                release.set()
                replacement = running.worker("worker 2", env("w2"))
                await replacement.ready()
                await receiver.wait_for(
                    lambda: len({r.webhook_id for r in receiver.at("/events")}) >= COMMANDS,
                    timeout=60,
                )
                # A delivery is recorded once its answer is back, after the receiver has it:
                # the workers must not be stopped before the last of them are.
                recorded = create_sessionmaker(engine)
                async with asyncio.timeout(30):
                    while not await all_delivered(recorded, agent["id"]):  # noqa: ASYNC110 (another process's)
                        await asyncio.sleep(0.1)
            except BaseException:
                print(running.logs())
                raise

        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            rows = (
                await session.scalars(
                    select(WebhookDelivery).where(col(WebhookDelivery.agent_id) == agent["id"])
                )
            ).all()
        await engine.dispose()

    by_id = {row.id: row for row in rows}
    assert len(rows) == COMMANDS and all(r.state is DeliveryState.DELIVERED for r in rows)
    got = receiver.at("/events")
    assert all(r.verified_by for r in got), "a request was not signed with the secret"
    # Deduplicated by webhook-id, each event once, and each id always the same event.
    first_arrivals: dict[str, int] = {}
    for request in got:
        assert by_id[request.webhook_id].event_seq == request.seq
        first_arrivals.setdefault(request.webhook_id, request.seq)
    seqs = list(first_arrivals.values())
    assert sorted(seqs) == sorted(row.event_seq for row in rows)  # none skipped
    assert seqs == sorted(seqs)  # in seq order, the killed worker's request included
    assert len(got) > len(first_arrivals)  # the held request came again, with its id
    assert max(row.attempts for row in rows) >= 2


async def all_delivered(sessions: async_sessionmaker[AsyncSession], agent_id: str) -> bool:
    async with sessions() as session:
        states = (
            await session.scalars(
                select(col(WebhookDelivery.state)).where(col(WebhookDelivery.agent_id) == agent_id)
            )
        ).all()
    return bool(states) and all(state is DeliveryState.DELIVERED for state in states)
