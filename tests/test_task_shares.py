"""Q1, Q2: fair shares of the task workers and of the account.

No user runs more than their share of tasks at once, queues more than their share or
owns more agents than allowed (QUOTA_EXCEEDED, nothing written); the server's own work
(a file's indexing) has slots no user's task can take; no task runs without a timeout.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import col

from kai.models.agent import Agent
from kai.models.file import StoredFile
from kai.models.task import Task, TaskState
from kai.services.shared import Services
from kai.workers.runner import TIMEOUT_ERROR
from tests.support.agents import create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.tasks import ENQUEUE, LONG, enqueue, eventually, row_in, task_settings
from tests.support.uploads import upload


async def running_by_owner(services: Services) -> dict[str, int]:
    async with services.sessionmaker() as session:
        rows = (
            await session.execute(
                select(col(Task.owner_id), func.count())
                .where(col(Task.state) == TaskState.RUNNING, col(Task.agent_id).is_not(None))
                .group_by(col(Task.owner_id))
            )
        ).all()
    return {owner: int(count) for owner, count in rows}


async def user_id(client: GraphQLClient, token: str) -> str:
    return str((await client.execute("query { me { id } }", token=token)).ok()["me"]["id"])


async def test_Q1_a_user_runs_at_most_their_share_and_others_get_the_rest(
    tmp_path: Path, database_url: str
) -> None:
    settings = task_settings(
        database_url, tmp_path / "data", task_concurrency=3, quota_running_tasks_per_user=2
    )
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        greedy = await signed_in(client, "greedy@example.com")
        greedy_id = await user_id(client, greedy)
        theirs = await create_echo(client, greedy)
        hog = [(await enqueue(client, greedy, theirs["id"], payload=LONG))["id"] for _ in range(5)]
        await row_in(services, hog[0], TaskState.RUNNING)
        await row_in(services, hog[1], TaskState.RUNNING)

        other = await signed_in(client, "other@example.com")
        mine = await create_echo(client, other)
        quick = await enqueue(client, other, mine["id"], payload={"steps": 1})

        # The third slot is free for the other user's task, while greedy's wait.
        await row_in(services, quick["id"], TaskState.COMPLETED)
        for _ in range(20):  # sampled while both run: greedy never holds a third slot
            assert (await running_by_owner(services)).get(greedy_id, 0) <= 2
            await asyncio.sleep(0.05)
        rows = [await services.tasks.get(task_id=task_id) for task_id in hog]
        assert sum(row is not None and row.state is TaskState.PENDING for row in rows) == 3

        # Once one of greedy's tasks ends, the next one of theirs starts.
        await services.tasks.cancel(task_id=hog[0])
        await row_in(services, hog[2], TaskState.RUNNING)
        assert (await running_by_owner(services)).get(greedy_id, 0) == 2
        for task_id in hog:
            await services.tasks.cancel(task_id=task_id)


async def test_Q1_queued_tasks_past_the_share_are_refused_and_not_written(
    tmp_path: Path, database_url: str
) -> None:
    settings = task_settings(database_url, tmp_path / "data", quota_queued_tasks_per_user=3)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        for _ in range(3):
            await enqueue(client, token, agent["id"], delaySeconds=600)

        refused = await client.execute(
            ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo"}}, token=token
        )

        assert refused.codes == ["QUOTA_EXCEEDED"]
        assert refused.errors[0]["extensions"]["quota"] == "queuedTasks"
        assert refused.errors[0]["extensions"]["limit"] == 3
        async with services_of(app).sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Task)) == 3
        # Someone else's queue is their own.
        other = await signed_in(client, "other@example.com")
        theirs = await create_echo(client, other)
        await enqueue(client, other, theirs["id"], delaySeconds=600)


async def test_Q1_agents_past_the_share_are_refused_and_not_written(
    tmp_path: Path, database_url: str
) -> None:
    settings = task_settings(database_url, tmp_path / "data", quota_agents_per_user=2)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        await create_echo(client, token, name="a")
        await create_echo(client, token, name="b")

        refused = await client.execute(
            'mutation { createAgent(input: {name: "c", type: "echo"}) { id } }', token=token
        )

        assert refused.codes == ["QUOTA_EXCEEDED"]
        assert refused.errors[0]["extensions"] == {
            "code": "QUOTA_EXCEEDED",
            "quota": "agents",
            "limit": 2,
        }
        async with services_of(app).sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Agent)) == 2


async def test_Q2_a_task_given_no_timeout_gets_the_default_one_and_stops_there(
    tmp_path: Path, database_url: str
) -> None:
    settings = task_settings(database_url, tmp_path / "data", task_default_timeout_seconds=0.3)
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        token = await signed_in(client)
        agent = await create_echo(client, token)

        task = await enqueue(client, token, agent["id"], payload=LONG)

        row = await row_in(services, task["id"], TaskState.FAILED)
        assert row.timeout_seconds == 0.3
        assert row.error == TIMEOUT_ERROR


async def test_Q2_indexing_runs_while_a_user_fills_every_task_slot(
    tmp_path: Path, database_url: str
) -> None:
    settings = task_settings(database_url, tmp_path / "data", task_concurrency=1)
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        token = await signed_in(client)
        agent = await create_echo(client, token)
        hog = [(await enqueue(client, token, agent["id"], payload=LONG))["id"] for _ in range(3)]
        await row_in(services, hog[0], TaskState.RUNNING)

        (await upload(client, token, b"the quarterly report is late", filename="r.txt")).ok()

        async def indexed() -> bool:
            async with services.sessionmaker() as session:
                row = await session.scalar(select(StoredFile))
            return row is not None and row.indexed_at is not None

        await eventually(indexed)
        first = await services.tasks.get(task_id=hog[0])
        assert first is not None and first.state is TaskState.RUNNING  # still holding its slot
        for task_id in hog:
            await services.tasks.cancel(task_id=task_id)
