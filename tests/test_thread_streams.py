"""Threads over real sockets and processes: sendMessage streamed over graphql-transport-ws
(and stored when the subscriber leaves half way), and a remote agent's thread answered by a
real `kai agent run` process that is handed the thread's messages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.fake_openai import FakeOpenAI
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import serve_app
from tests.support.subscriptions import kai_server
from tests.support.ws_client import ws_connect
from tests.test_remote_agent import agent_process, graphql_client, new_owner, server
from tests.test_threads import MESSAGES, create_llm, create_thread, messages, post

SEND = """
subscription S($threadId: ID!, $input: MessageInput!, $key: String) {
  sendMessage(threadId: $threadId, input: $input, idempotencyKey: $key) {
    streamId index delta done interrupted
  }
}
"""
TRANSPORT_WS = "graphql-transport-ws"


async def test_send_message_streams_the_answer_and_stores_it(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeOpenAI(chunks=["The ", "answer ", "is ", "42."])
    async with serve_app(fake.app()) as llm_url:
        fake.base_url = f"{llm_url}/v1"
        async with kai_server(database_url, tmp_path) as server_:
            client = server_.client
            token = str((await client.register("owner@example.com"))["accessToken"])
            agent_id = await create_llm(client, token, fake)
            thread_id = await create_thread(client, token, agent_id)
            async with ws_connect(server_.url, TRANSPORT_WS, token=token) as ws:
                op = await ws.subscribe(
                    SEND, {"threadId": thread_id, "input": {"content": "What is it?"}}
                )
                received = await ws.until_complete(op)
            chunks = [m.payload["data"]["sendMessage"] for m in received[:-1]]
            page = await messages(client, token, thread_id)

    assert [c["delta"] for c in chunks] == ["The ", "answer ", "is ", "42.", ""]
    assert [c["done"] for c in chunks] == [False] * 4 + [True]
    assert [(e["node"]["role"], e["node"]["content"]) for e in page["edges"]] == [
        ("USER", "What is it?"),
        ("ASSISTANT", "The answer is 42."),
    ]
    assert page["edges"][1]["node"]["usage"]["completionTokens"] == 4


async def test_a_subscriber_that_leaves_keeps_what_was_said_and_frees_the_thread(
    database_url: str, tmp_path: Path
) -> None:
    # A second between chunks: the rest of the answer outlasts the stop below on a busy
    # machine too (with 0.4 s, about a second was left).
    fake = FakeOpenAI(chunks=["one ", "two ", "three ", "four"], chunk_delay=1.0)
    async with serve_app(fake.app()) as llm_url:
        fake.base_url = f"{llm_url}/v1"
        async with kai_server(database_url, tmp_path) as server_:
            client = server_.client
            token = str((await client.register("owner@example.com"))["accessToken"])
            agent_id = await create_llm(client, token, fake)
            thread_id = await create_thread(client, token, agent_id)
            async with ws_connect(server_.url, TRANSPORT_WS, token=token) as ws:
                op = await ws.subscribe(
                    SEND, {"threadId": thread_id, "input": {"content": "count"}}
                )
                first = await ws.next(op)
                await ws.stop(op)
            assert first["sendMessage"]["delta"] == "one "

            async def settled() -> Any:
                result = (await client.execute(MESSAGES, {"id": thread_id}, token=token)).ok()
                thread = result["thread"]
                return (
                    thread if not thread["busy"] and thread["messages"]["totalCount"] == 2 else None
                )

            thread = await _eventually(settled)
            fake.chunk_delay = 0
            after = (await post(client, token, thread_id, "again")).ok()["postMessage"]

    cut = thread["messages"]["edges"][1]["node"]
    assert cut["role"] == "ASSISTANT" and cut["interrupted"] is True
    assert cut["content"].startswith("one ") and cut["content"] != "one two three four"
    assert after["content"] == "one two three four"


async def _eventually(probe: Any, timeout: float = 20) -> Any:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_a_remote_agent_is_handed_the_thread(database_url: str, tmp_path: Path) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        with agent_process(url, owner, tmp_path / "agent.log"):
            await owner.wait_state("RUNNING")
            thread_id = await create_thread(client, owner.token, owner.agent_id)
            first = (await post(client, owner.token, thread_id, "hello remote")).ok()
            recited = (
                await post(
                    client, owner.token, thread_id, "what was said", options={"history": True}
                )
            ).ok()

    assert first["postMessage"]["content"] == "hello remote"
    assert recited["postMessage"]["content"] == (
        "3 messages: user: hello remote | assistant: hello remote | user: what was said |"
    )


async def test_history_and_the_live_stream_share_one_cursor(
    database_url: str, tmp_path: Path
) -> None:
    """A client reads the newest messages, then follows agentEvents from the newest seq:
    the next messages come as MESSAGE events, none missing, none twice."""
    events_doc = """
    subscription E($agentId: ID!, $after: Int) {
      agentEvents(agentId: $agentId, after: $after) { seq type data }
    }
    """
    async with kai_server(database_url, tmp_path) as server_:
        client: GraphQLClient = server_.client
        token = str((await client.register("owner@example.com"))["accessToken"])
        agent = (
            await client.execute(
                'mutation { createAgent(input: {name: "e", type: "echo"}) { id } }', token=token
            )
        ).ok()["createAgent"]
        thread_id = await create_thread(client, token, agent["id"])
        for n in range(3):
            (await post(client, token, thread_id, f"m{n}")).ok()
        newest = await messages(client, token, thread_id, last=2)
        cursor = newest["edges"][-1]["node"]["seq"]
        async with ws_connect(server_.url, TRANSPORT_WS, token=token) as ws:
            op = await ws.subscribe(events_doc, {"agentId": agent["id"], "after": cursor})
            (await post(client, token, thread_id, "m3")).ok()
            seen: list[dict[str, Any]] = []
            while len([e for e in seen if e["type"] == "MESSAGE"]) < 2:
                seen.append((await ws.next(op))["agentEvents"])

    assert [e["seq"] for e in seen] == list(range(cursor + 1, cursor + 1 + len(seen)))
    assert [e["data"]["content"] for e in seen if e["type"] == "MESSAGE"] == ["m3", "m3"]


async def test_a_streamed_answer_cut_short_says_so_and_a_key_replays_an_answer(
    database_url: str, tmp_path: Path
) -> None:
    # A second between chunks: the rest of the answer outlasts the stop below on a busy
    # machine too (with 0.4 s, about a second was left).
    fake = FakeOpenAI(chunks=["one ", "two ", "three ", "four"], chunk_delay=1.0)
    async with serve_app(fake.app()) as llm_url:
        fake.base_url = f"{llm_url}/v1"
        async with kai_server(database_url, tmp_path) as server_:
            client = server_.client
            token = str((await client.register("owner@example.com"))["accessToken"])
            agent_id = await create_llm(client, token, fake)
            thread_id = await create_thread(client, token, agent_id)
            async with ws_connect(server_.url, TRANSPORT_WS, token=token) as ws:
                variables = {"threadId": thread_id, "input": {"content": "count"}, "key": "k-9"}
                op = await ws.subscribe(SEND, variables)
                cut = [(await ws.next(op))["sendMessage"]]
                fake.chunk_delay = 0
                (await post(client, token, thread_id, "stop", onBusy="INTERRUPT")).ok()
                cut += [
                    m.payload["data"]["sendMessage"] for m in (await ws.until_complete(op))[:-1]
                ]

                # The same key again (a client whose connection dropped): nothing is asked
                # again; the stored answer comes whole, in one chunk, then the last.
                asked = len(fake.requests)
                again = await ws.subscribe(SEND, variables)
                replayed = [
                    m.payload["data"]["sendMessage"] for m in (await ws.until_complete(again))[:-1]
                ]

    assert cut[-1]["done"] is True and cut[-1]["interrupted"] is True
    kept = "".join(c["delta"] for c in cut)
    assert kept.startswith("one ") and kept != "one two three four"
    assert len(fake.requests) == asked
    assert [(c["delta"], c["done"], c["interrupted"]) for c in replayed] == [
        (kept, False, False),
        ("", True, True),
    ]
