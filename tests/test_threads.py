"""Threads over /graphql on SQLite and PostgreSQL: conversations kept, the whole thread
sent to an `llm` agent (the fake OpenAI-compatible server records what it got), usage
stored, overlapping messages (REJECT, QUEUE, INTERRUPT), idempotency, history paged
backwards meeting agentEvents with no gap, caps, strangers, deletion, and the list of
threads by when started or by last activity (UPDATED_AT), paged, its cursors per order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from kai.config import Settings
from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.thread import Message
from kai.services.shared import Services
from tests.support.agents import DELETE, create_echo, signed_in
from tests.support.apps import services_of
from tests.support.fake_openai import FakeOpenAI, prompt_tokens
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import serve_app
from tests.support.settings import make_settings

CREATE = """
mutation C($input: ThreadInput!) {
  createThread(input: $input) { id title metadata busy agent { id } }
}
"""
MESSAGE_FIELDS = "id role content seq interrupted usage { promptTokens completionTokens }"
POST = f"""
mutation P($threadId: ID!, $input: MessageInput!, $key: String) {{
  postMessage(threadId: $threadId, input: $input, idempotencyKey: $key) {{
    {MESSAGE_FIELDS} thread {{ id }}
  }}
}}
"""
MESSAGES = f"""
query M($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {{
  thread(id: $id) {{
    id busy
    messages(first: $first, after: $after, last: $last, before: $before) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ {MESSAGE_FIELDS} }} }}
    }}
  }}
}}
"""
THREADS = (
    "query T($agentId: ID) { threads(agentId: $agentId) { totalCount edges { node { id } } } }"
)
AGENT_THREADS = "query A($id: ID!) { agent(id: $id) { threads { edges { node { id } } } } }"
THREAD_PAGE = """
query T($agentId: ID, $orderBy: ThreadOrder, $first: Int, $after: String) {
  threads(agentId: $agentId, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id createdAt updatedAt } }
  }
}
"""
AGENT_THREAD_PAGE = """
query A($id: ID!, $orderBy: ThreadOrder, $first: Int, $after: String) {
  agent(id: $id) {
    threads(orderBy: $orderBy, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id } }
    }
  }
}
"""
BY_ACTIVITY = {"field": "UPDATED_AT", "direction": "DESC"}
DELETE_THREAD = "mutation D($id: ID!) { deleteThread(id: $id) }"
NODE = "query N($id: ID!) { node(id: $id) { id } }"
CREATE_AGENT = "mutation A($input: AgentConfigInput!) { createAgent(input: $input) { id } }"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    # Requested before `app`, so it stops after the app has closed its HTTP client.
    server = FakeOpenAI()
    async with serve_app(server.app()) as url:
        server.base_url = f"{url}/v1"
        yield server


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", thread_run_lease_seconds=3)


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


async def create_thread(client: GraphQLClient, token: str, agent_id: str, **extra: Any) -> str:
    input = {"agentId": agent_id, **extra}
    return str(
        (await client.execute(CREATE, {"input": input}, token=token)).ok()["createThread"]["id"]
    )


async def post(
    client: GraphQLClient, token: str, thread_id: str, content: str, **extra: Any
) -> Any:
    key = extra.pop("key", None)
    variables = {"threadId": thread_id, "input": {"content": content, **extra}, "key": key}
    return await client.execute(POST, variables, token=token)


async def create_llm(client: GraphQLClient, token: str, fake: FakeOpenAI, **config: Any) -> str:
    configuration = {"baseUrl": fake.base_url, "model": "m", "apiKey": fake.api_key, **config}
    input = {"name": "llm-1", "type": "llm", "configuration": configuration}
    result = await client.execute(CREATE_AGENT, {"input": input}, token=token)
    return str(result.ok()["createAgent"]["id"])


async def messages(client: GraphQLClient, token: str, thread_id: str, **page: Any) -> Any:
    result = await client.execute(MESSAGES, {"id": thread_id, **page}, token=token)
    return result.ok()["thread"]["messages"]


def contents(page: Any) -> list[tuple[str, str]]:
    return [(e["node"]["role"], e["node"]["content"]) for e in page["edges"]]


async def test_an_echo_thread_keeps_the_conversation(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    thread_id = await create_thread(client, token, agent["id"], title="hi", metadata={"k": 1})

    first = (await post(client, token, thread_id, "hello there")).ok()["postMessage"]
    second = (await post(client, token, thread_id, "and again")).ok()["postMessage"]

    assert (first["role"], first["content"], first["interrupted"]) == (
        "ASSISTANT",
        "hello there",
        False,
    )
    assert first["thread"]["id"] == thread_id
    assert second["content"] == "and again"
    page = await messages(client, token, thread_id)
    assert contents(page) == [
        ("USER", "hello there"),
        ("ASSISTANT", "hello there"),
        ("USER", "and again"),
        ("ASSISTANT", "and again"),
    ]
    assert page["totalCount"] == 4
    seqs = [e["node"]["seq"] for e in page["edges"]]
    assert seqs == sorted(seqs) and seqs[-1] == second["seq"]
    listed = (await client.execute(THREADS, {"agentId": agent["id"]}, token=token)).ok()
    assert [e["node"]["id"] for e in listed["threads"]["edges"]] == [thread_id]
    on_agent = (await client.execute(AGENT_THREADS, {"id": agent["id"]}, token=token)).ok()
    assert [e["node"]["id"] for e in on_agent["agent"]["threads"]["edges"]] == [thread_id]


async def test_a_message_of_many_lines_is_kept_as_sent(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    thread_id = await create_thread(client, token, agent["id"])
    pasted = "  def f():\n\treturn 1\r\n\nthe end  "

    (await post(client, token, thread_id, pasted)).ok()

    page = await messages(client, token, thread_id)
    assert page["edges"][0]["node"]["content"] == pasted
    assert (await post(client, token, thread_id, " \n\t ")).codes == ["BAD_USER_INPUT"]


async def test_every_message_is_a_message_event_with_its_seq(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    thread_id = await create_thread(client, token, agent["id"])

    answer = (await post(client, token, thread_id, "one two")).ok()["postMessage"]

    events = await services.events.after(agent_id=agent["id"], after=0)
    stored = [e for e in events if e.type is AgentEventType.MESSAGE]
    assert [(e.data["role"], e.data["content"]) for e in stored] == [
        ("USER", "one two"),
        ("ASSISTANT", "one two"),
    ]
    assert stored[-1].seq == answer["seq"]
    assert stored[-1].data["messageId"] == answer["id"]
    assert all(e.data["threadId"] == thread_id for e in stored)
    chunks = [e for e in events if e.type is AgentEventType.STREAM_CHUNK]
    assert chunks and all(e.data["threadId"] == thread_id for e in chunks)


async def test_an_llm_agent_is_sent_the_whole_thread_and_its_usage_is_kept(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent_id = await create_llm(client, token, fake, systemPrompt="Be brief.")
    thread_id = await create_thread(client, token, agent_id)

    first = (await post(client, token, thread_id, "Hi there")).ok()["postMessage"]
    second = (await post(client, token, thread_id, "Tell me more")).ok()["postMessage"]

    assert first["content"] == second["content"] == "Hello, world!"
    sent = fake.requests[-1].body
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello, world!"},
        {"role": "user", "content": "Tell me more"},
    ]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert second["usage"] == {
        "promptTokens": prompt_tokens(sent),
        "completionTokens": len(fake.chunks),
    }
    page = await messages(client, token, thread_id)
    assert [e["node"]["usage"] for e in page["edges"] if e["node"]["role"] == "USER"] == [
        None,
        None,
    ]


async def test_history_is_trimmed_to_the_budget_oldest_first(
    fake: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    from tests.support.apps import client_at, running_app

    # 12 tokens: the system prompt's 3 (12 characters), the newest message always, then
    # older ones while they fit (the fake's answers count 4 tokens, as it reported).
    settings = make_settings(database_url, tmp_path / "data", thread_history_tokens=12)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent_id = await create_llm(client, token, fake, systemPrompt="Be brief ok.")
        thread_id = await create_thread(client, token, agent_id)
        for text in ("aaaa", "bbbb", "cccc"):
            (await post(client, token, thread_id, text)).ok()
        newest = "x" * 400  # 100 tokens: over the budget alone, and sent all the same
        (await post(client, token, thread_id, newest)).ok()

    requests = [r.body["messages"] for r in fake.requests]
    # Third question: system (3) + "cccc" (1) + answer (4) + "bbbb" (1) fit in 12; the
    # answer before them (4) would not, and neither would "aaaa" behind it.
    assert requests[2] == [
        {"role": "system", "content": "Be brief ok."},
        {"role": "user", "content": "bbbb"},
        {"role": "assistant", "content": "Hello, world!"},
        {"role": "user", "content": "cccc"},
    ]
    assert requests[3] == [
        {"role": "system", "content": "Be brief ok."},
        {"role": "user", "content": newest},
    ]


async def test_a_busy_thread_rejects_queues_or_interrupts(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    # An answer takes 2.4 s: the REJECT below lands while it runs on a busy machine too.
    fake.chunk_delay = 0.6
    token = await signed_in(client)
    agent_id = await create_llm(client, token, fake)
    thread_id = await create_thread(client, token, agent_id)

    running = asyncio.create_task(post(client, token, thread_id, "first"))
    await _busy(client, token, thread_id)
    rejected = await post(client, token, thread_id, "second", onBusy="REJECT")
    assert rejected.codes == ["CONFLICT"]
    queued = asyncio.create_task(post(client, token, thread_id, "queued", onBusy="QUEUE"))
    first = (await running).ok()["postMessage"]
    second = (await queued).ok()["postMessage"]
    assert first["interrupted"] is False and second["interrupted"] is False
    assert contents(await messages(client, token, thread_id)) == [
        ("USER", "first"),
        ("ASSISTANT", "Hello, world!"),
        ("USER", "queued"),
        ("ASSISTANT", "Hello, world!"),
    ]

    fake.chunk_delay = 1.0
    slow = asyncio.create_task(post(client, token, thread_id, "slow one"))
    await _busy(client, token, thread_id)
    await asyncio.sleep(1.2)  # one chunk out
    fake.chunk_delay = 0
    cutting = (await post(client, token, thread_id, "stop that", onBusy="INTERRUPT")).ok()
    cut = (await slow).ok()["postMessage"]
    assert cut["interrupted"] is True
    assert "Hello, world!".startswith(cut["content"]) and cut["content"] != "Hello, world!"
    assert cutting["postMessage"]["content"] == "Hello, world!"
    # The interrupted answer is part of the history the next answer was given.
    assert fake.requests[-1].body["messages"][-2:] == [
        {"role": "assistant", "content": cut["content"]},
        {"role": "user", "content": "stop that"},
    ]


async def test_queued_messages_are_answered_in_the_order_they_came_interrupt_first(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    # An answer takes 2 s: the four messages queued 0.2 s apart, then the interruption, all
    # come while the first one runs, on a busy machine too (at 0.2 s a chunk and 0.1 s
    # apart, less than half a second was left, and a message late by 0.1 s overtook).
    fake.chunk_delay = 0.5
    token = await signed_in(client)
    agent_id = await create_llm(client, token, fake)
    thread_id = await create_thread(client, token, agent_id)
    running = asyncio.create_task(post(client, token, thread_id, "running"))
    await _busy(client, token, thread_id)

    waiting = []
    for n in range(4):
        waiting.append(asyncio.create_task(post(client, token, thread_id, f"q{n}", onBusy="QUEUE")))
        await asyncio.sleep(0.2)  # each one waiting before the next comes
    cutting = asyncio.create_task(post(client, token, thread_id, "now", onBusy="INTERRUPT"))
    fake.chunk_delay = 0  # for the answers still to come (the running one read it long ago)
    for answer in await asyncio.gather(running, cutting, *waiting):
        answer.ok()

    asked = [
        text
        for role, text in contents(await messages(client, token, thread_id, first=100))
        if role == "USER"
    ]
    assert asked == ["running", "now", "q0", "q1", "q2", "q3"]


async def test_a_thread_deleted_while_answering_ends_its_waiting_messages(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    fake.chunk_delay = 0.6  # 2.4 s: still answering when deleted, on a busy machine too
    token = await signed_in(client)
    agent_id = await create_llm(client, token, fake)
    thread_id = await create_thread(client, token, agent_id)
    running = asyncio.create_task(post(client, token, thread_id, "running"))
    await _busy(client, token, thread_id)
    waiting = asyncio.create_task(post(client, token, thread_id, "waiting", onBusy="QUEUE"))
    await asyncio.sleep(0.2)

    (await client.execute(DELETE_THREAD, {"id": thread_id}, token=token)).ok()

    assert (await running).codes == ["NOT_FOUND"]
    assert (await asyncio.wait_for(waiting, 10)).codes == ["NOT_FOUND"]


async def _busy(client: GraphQLClient, token: str, thread_id: str) -> None:
    for _ in range(200):
        result = await client.execute(MESSAGES, {"id": thread_id}, token=token)
        if result.ok()["thread"]["busy"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the thread never became busy")


async def test_the_same_idempotency_key_answers_once(
    fake: FakeOpenAI, client: GraphQLClient
) -> None:
    token = await signed_in(client)
    agent_id = await create_llm(client, token, fake)
    thread_id = await create_thread(client, token, agent_id)

    first, again = await asyncio.gather(
        post(client, token, thread_id, "once", key="k-1", onBusy="QUEUE"),
        post(client, token, thread_id, "once", key="k-1", onBusy="QUEUE"),
    )
    later = await post(client, token, thread_id, "once", key="k-1")

    ids = {r.ok()["postMessage"]["id"] for r in (first, again, later)}
    assert len(ids) == 1
    assert len(fake.requests) == 1
    assert (await messages(client, token, thread_id))["totalCount"] == 2


async def test_history_paged_backwards_meets_agent_events_with_no_gap(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    thread_id = await create_thread(client, token, agent["id"])
    for n in range(5):
        (await post(client, token, thread_id, f"message {n}")).ok()

    newest = await messages(client, token, thread_id, last=4)
    assert newest["pageInfo"]["hasPreviousPage"] is True
    older = await messages(
        client, token, thread_id, last=4, before=newest["pageInfo"]["startCursor"]
    )
    oldest = await messages(
        client, token, thread_id, last=4, before=older["pageInfo"]["startCursor"]
    )
    assert oldest["pageInfo"]["hasPreviousPage"] is False
    history = [e["node"] for page in (oldest, older, newest) for e in page["edges"]]
    assert [m["content"] for m in history] == [
        text for n in range(5) for text in (f"message {n}", f"message {n}")
    ]
    forwards = await messages(client, token, thread_id, first=3)
    assert [e["node"]["id"] for e in forwards["edges"]] == [m["id"] for m in history[:3]]

    # What follows the newest message's seq is what came after it: nothing missed.
    after = history[-1]["seq"]
    (await post(client, token, thread_id, "later")).ok()
    following = await services.events.after(agent_id=agent["id"], after=after)
    assert following[0].seq == after + 1
    stored = [e for e in following if e.type is AgentEventType.MESSAGE]
    assert [e.data["content"] for e in stored] == ["later", "later"]


async def test_Q1_thread_caps_and_message_sizes_hold_and_write_nothing(
    database_url: str, tmp_path: Path
) -> None:
    from tests.support.apps import client_at, running_app

    settings = make_settings(
        database_url,
        tmp_path / "data",
        quota_threads_per_user=2,
        quota_messages_per_thread=4,
        max_message_chars=50,
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        thread_id = await create_thread(client, token, agent["id"])
        await create_thread(client, token, agent["id"])
        third = await client.execute(CREATE, {"input": {"agentId": agent["id"]}}, token=token)
        assert third.codes == ["QUOTA_EXCEEDED"]

        too_long = await post(client, token, thread_id, "x" * 51)
        assert too_long.codes == ["BAD_USER_INPUT"]
        assert too_long.errors[0]["extensions"]["field"] == "input.content"
        long_title = {"agentId": agent["id"], "title": "t" * 201}
        refused = await client.execute(CREATE, {"input": long_title}, token=token)
        assert refused.errors[0]["extensions"]["field"] == "input.title"
        blank = await post(client, token, thread_id, "   ")
        assert blank.codes == ["BAD_USER_INPUT"]
        options = await post(client, token, thread_id, "hi", options=[1])
        assert options.codes == ["BAD_USER_INPUT"]
        big = {"agentId": agent["id"], "metadata": {"x": "y" * 20_000}}
        assert (await client.execute(CREATE, {"input": big}, token=token)).codes == [
            "BAD_USER_INPUT"
        ]

        (await post(client, token, thread_id, "one")).ok()
        (await post(client, token, thread_id, "two")).ok()
        full = await post(client, token, thread_id, "three")
        assert full.codes == ["QUOTA_EXCEEDED"]
        assert (await messages(client, token, thread_id))["totalCount"] == 4
        # Nothing of a refused message was kept, and the thread is free.
        assert (await client.execute(MESSAGES, {"id": thread_id}, token=token)).ok()["thread"][
            "busy"
        ] is False


async def test_strangers_get_not_found(client: GraphQLClient) -> None:
    owner = await signed_in(client)
    agent = await create_echo(client, owner)
    thread_id = await create_thread(client, owner, agent["id"])
    answer = (await post(client, owner, thread_id, "mine")).ok()["postMessage"]
    stranger = await signed_in(client, "stranger@example.com")

    assert (await client.execute(MESSAGES, {"id": thread_id}, token=stranger)).codes == [
        "NOT_FOUND"
    ]
    assert (await post(client, stranger, thread_id, "theirs")).codes == ["NOT_FOUND"]
    assert (await client.execute(DELETE_THREAD, {"id": thread_id}, token=stranger)).codes == [
        "NOT_FOUND"
    ]
    for node_id in (thread_id, answer["id"]):
        assert (await client.execute(NODE, {"id": node_id}, token=stranger)).codes == ["NOT_FOUND"]
        assert (await client.execute(NODE, {"id": node_id}, token=owner)).ok()["node"][
            "id"
        ] == node_id
    on_agent = await client.execute(CREATE, {"input": {"agentId": agent["id"]}}, token=stranger)
    assert on_agent.codes == ["NOT_FOUND"]
    listed = (await client.execute(THREADS, {}, token=stranger)).ok()["threads"]
    assert listed["totalCount"] == 0


async def test_deleting_a_thread_takes_its_messages_and_their_events(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    kept = await create_thread(client, token, agent["id"])
    gone = await create_thread(client, token, agent["id"])
    (await post(client, token, kept, "stays")).ok()
    (await post(client, token, gone, "goes away")).ok()
    (await post(client, token, kept, "stays too")).ok()

    deleted = (await client.execute(DELETE_THREAD, {"id": gone}, token=token)).ok()

    assert deleted["deleteThread"] == gone
    assert (await client.execute(MESSAGES, {"id": gone}, token=token)).codes == ["NOT_FOUND"]
    events = await services.events.after(agent_id=agent["id"], after=0)
    assert not [e for e in events if e.data.get("threadId") == gone]
    assert len([e for e in events if e.data.get("threadId") == kept]) >= 4
    # Deleting the agent deletes its threads.
    (await client.execute(DELETE, {"id": agent["id"]}, token=token)).ok()
    async with services.sessionmaker() as session:
        left = await session.scalar(select(func.count()).select_from(Message))
        assert left == 0
        assert (
            await session.scalar(
                select(func.count()).where(col(AgentEvent.agent_id) == agent["id"])
            )
        ) == 0


async def thread_ids(client: GraphQLClient, token: str, **variables: Any) -> list[str]:
    page = (await client.execute(THREAD_PAGE, variables, token=token)).ok()["threads"]
    return [edge["node"]["id"] for edge in page["edges"]]


async def every_thread(
    client: GraphQLClient, token: str, query: str, field: str, **variables: Any
) -> list[str]:
    """Every id of the list, two a page, following endCursor."""
    ids: list[str] = []
    after = None
    for _ in range(10):
        data = (
            await client.execute(query, {**variables, "first": 2, "after": after}, token=token)
        ).ok()
        page = data["agent"]["threads"] if field == "agent" else data["threads"]
        ids += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the pages never ended")


async def test_threads_by_last_activity_follow_their_latest_message(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    oldest, middle, newest = [await create_thread(client, token, agent["id"]) for _ in range(3)]
    started = [newest, middle, oldest]
    assert await thread_ids(client, token) == started
    assert await thread_ids(client, token, orderBy=BY_ACTIVITY) == started

    (await post(client, token, oldest, "back again")).ok()

    # By when started: nothing moved; by last activity: the oldest thread comes first.
    assert await thread_ids(client, token) == started
    by_created = {"field": "CREATED_AT", "direction": "DESC"}
    assert await thread_ids(client, token, orderBy=by_created) == started
    assert await thread_ids(client, token, orderBy=BY_ACTIVITY) == [oldest, newest, middle]
    earliest = {"field": "UPDATED_AT", "direction": "ASC"}
    assert await thread_ids(client, token, orderBy=earliest) == [middle, newest, oldest]
    page = (await client.execute(THREAD_PAGE, {"orderBy": BY_ACTIVITY}, token=token)).ok()
    stamps = [edge["node"]["updatedAt"] for edge in page["threads"]["edges"]]
    assert stamps == sorted(stamps, reverse=True)
    assert page["threads"]["totalCount"] == 3
    # Of one agent too, and on the agent.
    other = await create_echo(client, token, name="other")
    elsewhere = await create_thread(client, token, other["id"])
    assert await thread_ids(client, token, orderBy=BY_ACTIVITY) == [
        elsewhere,
        oldest,
        newest,
        middle,
    ]
    mine = await thread_ids(client, token, agentId=agent["id"], orderBy=BY_ACTIVITY)
    assert mine == [oldest, newest, middle]
    on_agent = (
        await client.execute(
            AGENT_THREAD_PAGE, {"id": agent["id"], "orderBy": earliest}, token=token
        )
    ).ok()["agent"]["threads"]
    assert [edge["node"]["id"] for edge in on_agent["edges"]] == [middle, newest, oldest]


async def test_threads_by_last_activity_are_paged_with_cursors_of_their_own(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    made = [await create_thread(client, token, agent["id"]) for _ in range(5)]
    # Written to out of order: the second, the fourth, then the first.
    for index in (1, 3, 0):
        (await post(client, token, made[index], f"to {index}")).ok()
    latest = [made[0], made[3], made[1], made[4], made[2]]
    earliest = {"field": "UPDATED_AT", "direction": "ASC"}

    assert await every_thread(client, token, THREAD_PAGE, "threads", orderBy=BY_ACTIVITY) == (
        latest
    )
    assert (
        await every_thread(client, token, THREAD_PAGE, "threads", orderBy=earliest)
        == (latest[::-1])
    )
    assert (
        await every_thread(
            client, token, AGENT_THREAD_PAGE, "agent", id=agent["id"], orderBy=BY_ACTIVITY
        )
        == latest
    )
    assert await every_thread(client, token, THREAD_PAGE, "threads") == made[::-1]

    # A cursor is good for the order that wrote it only.
    by_created = (await client.execute(THREAD_PAGE, {"first": 2}, token=token)).ok()
    cursor = by_created["threads"]["pageInfo"]["endCursor"]
    by_activity = await client.execute(
        THREAD_PAGE, {"first": 2, "after": cursor, "orderBy": BY_ACTIVITY}, token=token
    )
    assert by_activity.codes == ["BAD_USER_INPUT"]
    assert by_activity.errors[0]["extensions"]["field"] == "after"
    on_agent = await client.execute(
        AGENT_THREAD_PAGE,
        {"id": agent["id"], "first": 2, "after": cursor, "orderBy": earliest},
        token=token,
    )
    assert on_agent.codes == ["BAD_USER_INPUT"]
    activity_cursor = (
        await client.execute(THREAD_PAGE, {"first": 2, "orderBy": BY_ACTIVITY}, token=token)
    ).ok()["threads"]["pageInfo"]["endCursor"]
    refused = await client.execute(THREAD_PAGE, {"first": 2, "after": activity_cursor}, token=token)
    assert refused.codes == ["BAD_USER_INPUT"]
    # The same cursor in its own order goes on where it left off.
    rest = (
        await client.execute(
            THREAD_PAGE, {"after": activity_cursor, "orderBy": BY_ACTIVITY}, token=token
        )
    ).ok()["threads"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == latest[2:]
