"""search(query) over the text of the caller's files, indexed by the file.index task."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from kai.models.file import StoredFile
from kai.models.task import Task, TaskState
from tests.support.agents import create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.tasks import eventually
from tests.support.uploads import DELETE_FILE, SEARCH, upload

TEXTS = {
    "incident.txt": b"Kubernetes pod crashed out of memory",
    "recipe.txt": b"Whisk the eggs with sugar, then fold in the flour and bake for 30 minutes.",
    "football.txt": b"The striker scored twice in the second half and the home team won the cup.",
    "invoice.txt": b"Invoice 2291: payment due within 30 days to the account below.",
}


async def indexed(app: Any, count: int) -> None:
    """Waits (20 s at most) until `count` files are indexed (their file.index tasks completed)."""
    services = services_of(app)
    async with asyncio.timeout(20):
        while True:
            async with services.sessionmaker() as session:
                rows = (
                    await session.scalars(
                        select(StoredFile).where(col(StoredFile.indexed_at).is_not(None))
                    )
                ).all()
            if len(rows) >= count:
                return
            await asyncio.sleep(0.05)


async def test_search_ranks_the_matching_file_first_and_only_for_its_owner(
    client: GraphQLClient, app: Any
) -> None:
    owner = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    for name, text in TEXTS.items():
        (await upload(client, owner, text, filename=name)).ok()
    await indexed(app, len(TEXTS))

    hits = (await client.execute(SEARCH, {"query": "container ran out of RAM"}, token=owner)).ok()

    first = hits["search"][0]
    assert first["file"]["originalName"] == "incident.txt"
    assert first["chunk"] == "Kubernetes pod crashed out of memory"
    assert first["score"] > hits["search"][1]["score"]
    theirs = (await client.execute(SEARCH, {"query": "container ran out of RAM"}, token=other)).ok()
    assert theirs["search"] == []


async def test_search_within_one_agent_and_after_delete(client: GraphQLClient, app: Any) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    incident = (
        await upload(client, token, TEXTS["incident.txt"], filename="a.txt", agent_id=agent["id"])
    ).ok()["uploadFile"]
    (await upload(client, token, b"Pods restarted after the node ran out of memory.")).ok()
    await indexed(app, 2)

    scoped = await client.execute(
        SEARCH, {"query": "out of memory", "agentId": agent["id"]}, token=token
    )
    assert [hit["file"]["id"] for hit in scoped.ok()["search"]] == [incident["id"]]

    (await client.execute(DELETE_FILE, {"id": incident["id"]}, token=token)).ok()
    after = (await client.execute(SEARCH, {"query": "out of memory"}, token=token)).ok()
    assert incident["id"] not in [hit["file"]["id"] for hit in after["search"]]
    assert len(after["search"]) == 1


async def test_json_files_are_searchable_and_images_are_not_indexed(
    client: GraphQLClient, app: Any
) -> None:
    token = await signed_in(client)
    (
        await upload(
            client,
            token,
            b'{"ticket": "Database replica lagging behind primary", "priority": "high"}',
            filename="ticket.json",
            content_type="application/json",
        )
    ).ok()
    await indexed(app, 1)

    hits = (await client.execute(SEARCH, {"query": "replication lag"}, token=token)).ok()

    assert hits["search"][0]["file"]["originalName"] == "ticket.json"
    async with services_of(app).sessionmaker() as session:
        tasks = (await session.scalars(select(Task))).all()
    assert [(t.type, t.agent_id, t.state) for t in tasks] == [
        ("file.index", None, TaskState.COMPLETED)
    ]


async def test_search_input_is_bounded(client: GraphQLClient) -> None:
    token = await signed_in(client)

    too_long = await client.execute(SEARCH, {"query": "x" * 1001}, token=token)
    bad_limit = await client.execute(SEARCH, {"query": "x", "limit": 0}, token=token)
    empty = await client.execute(SEARCH, {"query": "   "}, token=token)

    assert too_long.codes == ["BAD_USER_INPUT"]
    assert bad_limit.codes == ["BAD_USER_INPUT"]
    assert empty.ok()["search"] == []


async def test_C3_a_pdf_that_cannot_be_read_is_skipped_once_not_retried(
    client: GraphQLClient, app: Any
) -> None:
    token = await signed_in(client)
    damaged = b"%PDF-1.7\n" + b"\x00garbage that no reader can parse\n" * 50
    (await upload(client, token, damaged, filename="d.pdf", content_type="application/pdf")).ok()

    services = services_of(app)

    async def completed() -> Task | None:
        async with services.sessionmaker() as session:
            task = await session.scalar(select(Task))
        return task if task is not None and task.state is TaskState.COMPLETED else None

    task = await eventually(completed, timeout=20)

    # The same file fails the same way again: three more tries would only burn CPU.
    assert task.attempts == 1
    assert task.result is not None
    assert task.result["passages"] == 0
    assert "damaged" in task.result["skipped"]
