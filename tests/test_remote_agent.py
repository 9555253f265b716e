"""Remote agents end to end: a real server, a real `kai agent run` process, real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from kai.app import create_app
from kai.models.remote import RemoteMessage
from tests.support.apps import services_of
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import ROOT, clean_env, free_port, serve_app
from tests.support.settings import make_settings

T = TypeVar("T")

CREATE = """
mutation Create($input: AgentConfigInput!) { createAgent(input: $input) { id type state } }
"""
AGENT = "query Agent($id: ID!) { agent(id: $id) { id state lastSeen } }"
STATUS = """
query Status($id: ID!) {
  agentStatus(id: $id) {
    state lastSeen
    health { status uptime memoryUsage cpuUsage }
    metrics { commandsTotal commandsFailed }
  }
}
"""
COMMAND = """
mutation Command($agentId: ID!, $command: AgentCommandInput!) {
  sendCommand(agentId: $agentId, command: $command) { success result error durationMs }
}
"""
LOGS = """
query Logs($agentId: ID!) {
  agentLogs(agentId: $agentId, first: 20) { edges { node { level message data } } }
}
"""
EVENTS = """
subscription Events($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { seq type data } }
"""
STREAM = """
subscription Stream($agentId: ID!, $input: StreamPromptInput!) {
  streamPrompt(agentId: $agentId, input: $input) { streamId index delta done }
}
"""
INBOX = """
subscription Inbox($agentId: ID!) { agentInbox(agentId: $agentId) { id kind payload timestamp } }
"""
REPLY = """
mutation Reply($messageId: ID!, $result: JSON, $error: String) {
  agentReply(messageId: $messageId, result: $result, error: $error)
}
"""
CHUNK = """
mutation Chunk($messageId: ID!, $delta: String!, $done: Boolean!) {
  agentStreamChunk(messageId: $messageId, delta: $delta, done: $done)
}
"""
HEARTBEAT = """
mutation Heartbeat($agentId: ID!, $memoryUsage: Float, $cpuUsage: Float) {
  agentHeartbeat(agentId: $agentId, memoryUsage: $memoryUsage, cpuUsage: $cpuUsage) {
    state lastSeen health { memoryUsage cpuUsage }
  }
}
"""
RESTART = "mutation Restart($id: ID!) { restartAgent(id: $id) { id state } }"
ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id state attempts }
}
"""
TASK = """
query Task($id: ID!) { task(id: $id) { id state progress result error attempts startedAt } }
"""
TASK_PROGRESS = """
mutation TaskProgress($taskId: ID!, $progress: Float!, $result: JSON, $error: String) {
  agentTaskProgress(taskId: $taskId, progress: $progress, result: $result, error: $error) {
    id state
  }
}
"""
TASK_TYPES = {"taskTypes": ["count", "fail"]}
DELETE = "mutation Delete($id: ID!) { deleteAgent(id: $id) }"

WAIT = 20.0
HEARTBEAT_SECONDS = "0.3"


# -- helpers -------------------------------------------------------------------


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = WAIT, what: str = "condition"
) -> T:
    """The first non-None answer of `probe`, polled for `within` seconds at most."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Owner:
    """A signed-in user of a running server, with a remote agent and an API key for it."""

    def __init__(self, client: GraphQLClient, token: str, agent_id: str, api_key: str):
        self.client = client
        self.token = token
        self.agent_id = agent_id
        self.api_key = api_key

    async def query(self, query: str, **variables: Any) -> Any:
        return (await self.client.execute(query, variables, token=self.token)).ok()

    async def state(self) -> str:
        return str((await self.query(AGENT, id=self.agent_id))["agent"]["state"])

    async def wait_state(self, state: str) -> None:
        async def probe() -> bool | None:
            return True if await self.state() == state else None

        await eventually(probe, what=f"agent {state}")

    async def command(self, command: str, **params: Any) -> dict[str, Any]:
        result = await self.client.execute(
            COMMAND,
            {"agentId": self.agent_id, "command": {"command": command, "params": params}},
            token=self.token,
        )
        return result.body


async def sign_up(
    client: GraphQLClient, email: str, configuration: dict[str, Any] | None = None
) -> tuple[str, str]:
    """(access token, agent id of a new remote agent)."""
    token = str((await client.register(email))["accessToken"])
    agent_input: dict[str, Any] = {"name": "remote-1", "type": "remote"}
    if configuration is not None:
        agent_input["configuration"] = configuration
    created = await client.execute(CREATE, {"input": agent_input}, token=token)
    agent = created.ok()["createAgent"]
    assert agent["type"] == "remote"
    return token, str(agent["id"])


async def new_owner(
    client: GraphQLClient,
    email: str = "owner@example.com",
    configuration: dict[str, Any] | None = None,
) -> Owner:
    token, agent_id = await sign_up(client, email, configuration)
    # The least a process needs: agent.command, on its one agent.
    key = await client.create_api_key(token, permissions=["agent.command"], agentIds=[agent_id])
    return Owner(client, token, agent_id, str(key["secret"]))


SERVERS: dict[str, Any] = {}


@asynccontextmanager
async def server(
    database_url: str, data_dir: Path, *, port: int | None = None, **overrides: Any
) -> AsyncIterator[str]:
    """The app under uvicorn (on a free port by default); its URL (and its app, in SERVERS)."""
    overrides.setdefault("command_timeout_seconds", 10)
    settings = make_settings(database_url, data_dir, **overrides)
    app = create_app(settings)
    async with serve_app(app, port=port) as url:
        SERVERS[url] = app
        try:
            yield url
        finally:
            SERVERS.pop(url, None)


async def pending_messages(url: str, agent_id: str) -> int:
    """Inbox messages delivered to the agent's process and not answered yet."""
    services = services_of(SERVERS[url])
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(RemoteMessage).where(col(RemoteMessage.agent_id) == agent_id)
        )
        return len(rows.all())


@asynccontextmanager
async def graphql_client(url: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield GraphQLClient(http)


@contextmanager
def agent_process(
    url: str,
    owner: Owner,
    log_path: Path,
    *,
    target: str = "examples.echo_remote:agent",
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """`kai agent run` as a real process; always killed afterwards."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kai.cli",
                "agent",
                "run",
                target,
                "--url",
                url,
                "--agent-id",
                owner.agent_id,
                "--heartbeat-seconds",
                HEARTBEAT_SECONDS,
                "--max-backoff-seconds",
                "0.5",
            ],
            env=clean_env(KAI_API_KEY=owner.api_key, PYTHONPATH=str(ROOT)),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        process.wait(timeout=10)


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def socket(url: str, token: str) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection, acknowledged."""
    async with connect(ws_url(url), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def start(ws: ClientConnection, op: str, query: str, **variables: Any) -> None:
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))


async def receive(ws: ClientConnection, op: str) -> dict[str, Any]:
    """The next message of operation `op` (next, error or complete)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message.get("id") == op:
            return message  # type: ignore[no-any-return]


async def collect(ws: ClientConnection, op: str) -> list[dict[str, Any]]:
    """Every `next` payload of `op` until it completes."""
    payloads: list[dict[str, Any]] = []
    while True:
        message = await receive(ws, op)
        if message["type"] == "complete":
            return payloads
        assert message["type"] == "next", message
        payloads.append(message["payload"])


def codes(payload: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in payload.get("errors") or []]


async def wait_exit(process: subprocess.Popen[bytes]) -> int:
    async def probe() -> int | None:
        return process.poll()

    return await eventually(probe, what="the agent process to exit")


async def status_updates(url: str, owner: Owner, count: int) -> list[tuple[str, str]]:
    """The agent's first `count` state changes, (to, reason), from agentEvents."""
    transitions: list[tuple[str, str]] = []
    async with socket(url, owner.token) as ws:
        await start(ws, "events", EVENTS, agentId=owner.agent_id)
        while len(transitions) < count:
            event = (await receive(ws, "events"))["payload"]["data"]["agentEvents"]
            if event["type"] == "STATUS_UPDATE":
                transitions.append((event["data"]["to"], event["data"]["reason"]))
    return transitions


def output(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def enqueue(owner: Owner, task_type: str, payload: Any = None) -> dict[str, Any]:
    input = {"type": task_type, "payload": payload}
    return dict((await owner.query(ENQUEUE, agentId=owner.agent_id, input=input))["enqueueTask"])


async def task_of(owner: Owner, task_id: str) -> dict[str, Any]:
    return dict((await owner.query(TASK, id=task_id))["task"])


async def finished(owner: Owner, task_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        task = await task_of(owner, task_id)
        return task if task["state"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return await eventually(probe, what=f"task {task_id} to end")


async def task_events(url: str, owner: Owner, task_id: str) -> list[dict[str, Any]]:
    """The task's TASK_PROGRESS / TASK_COMPLETE event data, up to its TASK_COMPLETE."""
    seen: list[dict[str, Any]] = []
    async with socket(url, owner.token) as ws:
        await start(ws, "events", EVENTS, agentId=owner.agent_id)
        while not seen or seen[-1]["event"] != "TASK_COMPLETE":
            event = (await receive(ws, "events"))["payload"]["data"]["agentEvents"]
            ours = event["data"].get("taskId") == task_id
            if ours and event["type"] in ("TASK_PROGRESS", "TASK_COMPLETE"):
                seen.append({**event["data"], "event": event["type"]})
    return seen


# -- a real process attached to a real server ------------------------------------


@pytest.mark.slow
async def test_command_round_trip_through_a_remote_process(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        assert await owner.state() == "STOPPED"

        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            answered = await owner.command("echo", n=1, text="hi")
            failed = await owner.command("fail", reason="no thanks")
            unknown = await owner.command("nope")
            status = (await owner.query(STATUS, id=owner.agent_id))["agentStatus"]

        result = answered["data"]["sendCommand"]
        assert result["success"] is True, output(tmp_path / "agent.log")
        # Answered by that process, not by the server.
        assert result["result"] == {"echo": {"n": 1, "text": "hi"}, "pid": process.pid}
        assert failed["data"]["sendCommand"]["success"] is False
        assert failed["data"]["sendCommand"]["error"] == "RuntimeError: no thanks"
        assert "unknown command 'nope'" in unknown["data"]["sendCommand"]["error"]
        assert status["metrics"] == {"commandsTotal": 3, "commandsFailed": 2}


@pytest.mark.slow
async def test_streamed_prompt_comes_from_the_process_chunk_by_chunk(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        with agent_process(url, owner, tmp_path / "agent.log"):
            await owner.wait_state("RUNNING")
            async with socket(url, owner.token) as ws:
                await start(
                    ws,
                    "p",
                    STREAM,
                    agentId=owner.agent_id,
                    input={"prompt": "one two three", "options": {"shout": True}},
                )
                payloads = await collect(ws, "p")

    chunks = [p["data"]["streamPrompt"] for p in payloads]
    assert [c["delta"] for c in chunks] == ["ONE ", "TWO ", "THREE", ""]
    assert [c["index"] for c in chunks] == [0, 1, 2, 3]
    assert [c["done"] for c in chunks] == [False, False, False, True]
    assert len({c["streamId"] for c in chunks}) == 1


@pytest.mark.slow
async def test_heartbeats_feed_status_and_logs_reach_agent_logs(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        with agent_process(url, owner, tmp_path / "agent.log"):
            await owner.wait_state("RUNNING")

            async def measured() -> dict[str, Any] | None:
                status = (await owner.query(STATUS, id=owner.agent_id))["agentStatus"]
                return status if status["health"]["memoryUsage"] is not None else None

            first = await eventually(measured, what="a heartbeat")

            async def later() -> dict[str, Any] | None:
                status = (await owner.query(STATUS, id=owner.agent_id))["agentStatus"]
                return status if status["lastSeen"] > first["lastSeen"] else None

            second = await eventually(later, what="another heartbeat")
            logged = await owner.command(
                "log", message="hello from the process", level="WARNING", data={"k": 1}
            )
            logs = (await owner.query(LOGS, agentId=owner.agent_id))["agentLogs"]

    health = second["health"]
    assert health["status"] == "HEALTHY"
    assert 0 < health["memoryUsage"] <= 1
    assert health["cpuUsage"] is not None and 0 <= health["cpuUsage"] <= 1
    assert health["uptime"] > 0
    assert logged["data"]["sendCommand"]["success"] is True
    assert {"level": "WARNING", "message": "hello from the process", "data": {"k": 1}} in [
        edge["node"] for edge in logs["edges"]
    ]


@pytest.mark.slow
async def test_killed_process_stops_the_agent_and_fails_its_pending_command(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            pending = asyncio.create_task(owner.command("sleep", seconds=30))

            # Kill it once it holds the command (its inbox recorded the delivery).
            async def delivered() -> bool | None:
                return True if await pending_messages(url, owner.agent_id) else None

            await eventually(delivered, what="the command to reach the process")
            process.kill()
            started = time.monotonic()
            interrupted = await asyncio.wait_for(pending, WAIT)
            elapsed = time.monotonic() - started
            await owner.wait_state("STOPPED")
            after = await owner.command("echo")

    # Not the 10 s command timeout: the closing inbox told the waiting request.
    assert interrupted["errors"][0]["extensions"]["code"] == "AGENT_UNAVAILABLE", interrupted
    assert elapsed < 5
    assert after["errors"][0]["extensions"]["code"] == "AGENT_UNAVAILABLE"


@pytest.mark.slow
async def test_a_hung_process_turns_the_agent_error_and_unhealthy_then_recovers(
    database_url: str, tmp_path: Path
) -> None:
    timeout = 1.0
    async with (
        server(database_url, tmp_path / "data", heartbeat_timeout_seconds=timeout) as url,
        graphql_client(url) as client,
    ):
        owner = await new_owner(client)
        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            os.kill(process.pid, signal.SIGSTOP)
            await owner.wait_state("ERROR")
            hung = (await owner.query(STATUS, id=owner.agent_id))["agentStatus"]
            os.kill(process.pid, signal.SIGCONT)
            # Its inbox was closed: once awake, the process attaches again.
            await owner.wait_state("RUNNING")
            answered = await owner.command("echo")

    assert hung["health"]["status"] == "UNHEALTHY"
    # What a frozen process last reported is not its usage now.
    assert hung["health"]["memoryUsage"] is None
    assert answered["data"]["sendCommand"]["success"] is True


async def test_with_no_process_attached_commands_and_prompts_are_unavailable(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        commanded = await owner.command("echo")
        status = (await owner.query(STATUS, id=owner.agent_id))["agentStatus"]
        async with socket(url, owner.token) as ws:
            await start(ws, "p", STREAM, agentId=owner.agent_id, input={"prompt": "hi"})
            prompted = await receive(ws, "p")

    assert commanded["errors"][0]["extensions"]["code"] == "AGENT_UNAVAILABLE"
    assert status["state"] == "STOPPED"
    assert status["health"]["status"] == "UNHEALTHY"
    assert status["metrics"]["commandsTotal"] == 0
    assert codes(prompted["payload"]) == ["AGENT_UNAVAILABLE"], prompted


async def test_one_process_at_a_time_and_only_for_remote_agents(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        echo = await client.execute(
            CREATE, {"input": {"name": "e", "type": "echo"}}, token=owner.token
        )
        echo_id = echo.ok()["createAgent"]["id"]
        async with socket(url, owner.api_key) as first, socket(url, owner.token) as second:
            await start(first, "a", INBOX, agentId=owner.agent_id)
            await owner.wait_state("RUNNING")
            await start(second, "b", INBOX, agentId=owner.agent_id)
            refused = await receive(second, "b")
            await start(second, "c", INBOX, agentId=echo_id)
            not_remote = await receive(second, "c")
            heartbeat = await client.execute(
                HEARTBEAT,
                {"agentId": owner.agent_id, "memoryUsage": 1.5},
                token=owner.api_key,
            )
            # The first one still holds it.
            assert await owner.state() == "RUNNING"
        await owner.wait_state("STOPPED")

    assert codes(refused["payload"]) == ["CONFLICT"], refused
    assert codes(not_remote["payload"]) == ["BAD_USER_INPUT"], not_remote
    assert heartbeat.codes == ["BAD_USER_INPUT"]
    assert heartbeat.errors[0]["extensions"]["field"] == "memoryUsage"


async def test_answers_are_checked_against_the_message_and_its_agent(
    database_url: str, tmp_path: Path
) -> None:
    """A process of our own making, over a raw socket: the protocol without the SDK."""
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        _, other_agent = await sign_up(client, "mallory@example.com")
        mallory = await client.login("mallory@example.com")
        async with socket(url, owner.api_key) as process:
            await start(process, "inbox", INBOX, agentId=owner.agent_id)
            await owner.wait_state("RUNNING")
            sent = asyncio.create_task(owner.command("add", a=1, b=2))
            delivered = await receive(process, "inbox")
            message = delivered["payload"]["data"]["agentInbox"]

            async def answer(query: str, token: str, **variables: Any) -> Any:
                return await client.execute(query, variables, token=token)

            unknown = await answer(REPLY, owner.api_key, messageId="msg_nope", result=1)
            foreign = await answer(REPLY, mallory["accessToken"], messageId=message["id"])
            chunked = await answer(
                CHUNK, owner.api_key, messageId=message["id"], delta="x", done=True
            )
            replied = await answer(REPLY, owner.api_key, messageId=message["id"], result=3)
            async with socket(url, mallory["accessToken"]) as intruder:
                await start(intruder, "i", INBOX, agentId=owner.agent_id)
                intruded = await receive(intruder, "i")
            again = await answer(REPLY, owner.api_key, messageId=message["id"], result=4)
            result = await asyncio.wait_for(sent, WAIT)

    assert message["kind"] == "COMMAND"
    assert message["payload"] == {"command": "add", "params": {"a": 1, "b": 2}}
    assert unknown.codes == ["NOT_FOUND"]
    assert foreign.codes == ["NOT_FOUND"]
    assert chunked.codes == ["BAD_USER_INPUT"]
    assert replied.ok() == {"agentReply": True}
    assert codes(intruded["payload"]) == ["NOT_FOUND"], intruded
    assert again.codes == ["NOT_FOUND"]
    assert result["data"]["sendCommand"]["result"] == 3
    assert other_agent != owner.agent_id


@pytest.mark.slow
async def test_restart_asks_the_process_to_reattach_and_delete_makes_it_exit(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)  # the first user: ADMIN, who may delete
        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            restarted = (await owner.query(RESTART, id=owner.agent_id))["restartAgent"]
            await owner.wait_state("RUNNING")
            transitions = await status_updates(url, owner, 5)
            answered = await owner.command("echo")
            await owner.query(DELETE, id=owner.agent_id)
            code = await wait_exit(process)

    assert restarted["state"] == "STOPPED"
    assert transitions == [
        ("STARTING", "process attached"),
        ("RUNNING", "process attached"),
        ("STOPPED", "restart"),
        ("STARTING", "process attached"),
        ("RUNNING", "process attached"),
    ]
    assert answered["data"]["sendCommand"]["success"] is True
    assert code == 0, output(tmp_path / "agent.log")


@pytest.mark.slow
async def test_the_process_reattaches_after_a_server_restart(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with server(database_url, tmp_path / "data", port=port) as url, graphql_client(url) as c:
        owner = await new_owner(c)
    with agent_process(url, owner, tmp_path / "agent.log") as process:
        async with (
            server(database_url, tmp_path / "data", port=port),
            graphql_client(url) as client,
        ):
            owner.client = client
            await owner.wait_state("RUNNING")
        # The server is gone (its shutdown detached the process: STOPPED), and the
        # process retries, with backoff, until a new one listens on the port.
        await asyncio.sleep(1)
        assert process.poll() is None, output(tmp_path / "agent.log")
        async with (
            server(database_url, tmp_path / "data", port=port),
            graphql_client(url) as client,
        ):
            owner.client = client
            await owner.wait_state("RUNNING")
            answered = await owner.command("echo", after="restart")
            transitions = await status_updates(url, owner, 5)

    result = answered["data"]["sendCommand"]
    assert result["result"] == {"echo": {"after": "restart"}, "pid": process.pid}
    assert transitions == [
        ("STARTING", "process attached"),
        ("RUNNING", "process attached"),
        ("STOPPED", "process detached"),
        ("STARTING", "process attached"),
        ("RUNNING", "process attached"),
    ]
    assert "reconnecting in" in output(tmp_path / "agent.log")


@pytest.mark.slow
async def test_a_process_on_one_replica_serves_requests_sent_to_another(
    postgres_template: str | None, tmp_path: Path
) -> None:
    async with postgres_database(template=postgres_template) as database_url:
        # Both replicas share the database and a broker: PostgreSQL LISTEN/NOTIFY here.
        # A libpq DSN (asyncpg directly): TLS is off by `sslmode`, not SQLAlchemy's `ssl`.
        url = make_url(database_url)
        query = {k: v for k, v in url.query.items() if k != "ssl"} | {"sslmode": "disable"}
        broker = url.set(drivername="postgresql", query=query)
        broadcast_url = broker.render_as_string(hide_password=False)
        async with (
            server(database_url, tmp_path / "a", broadcast_url=broadcast_url) as a,
            server(database_url, tmp_path / "b", broadcast_url=broadcast_url) as b,
            graphql_client(a) as client_a,
            graphql_client(b) as client_b,
        ):
            owner = await new_owner(client_a)
            with agent_process(a, owner, tmp_path / "agent.log") as process:
                await owner.wait_state("RUNNING")
                via_b = Owner(client_b, owner.token, owner.agent_id, owner.api_key)
                answered = await via_b.command("echo", via="b")
                async with socket(b, owner.token) as ws:
                    await start(ws, "p", STREAM, agentId=owner.agent_id, input={"prompt": "x y"})
                    payloads = await collect(ws, "p")
                process.kill()
                await via_b.wait_state("STOPPED")
                after = await via_b.command("echo")

    assert answered["data"]["sendCommand"]["result"] == {"echo": {"via": "b"}, "pid": process.pid}
    assert "".join(p["data"]["streamPrompt"]["delta"] for p in payloads) == "x y"
    assert after["errors"][0]["extensions"]["code"] == "AGENT_UNAVAILABLE"


@pytest.mark.slow
async def test_a_process_the_server_will_never_take_exits_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as url, graphql_client(url) as client:
        owner = await new_owner(client)
        bad_key = Owner(client, owner.token, owner.agent_id, "kai_" + uuid.uuid4().hex)
        unknown_agent = Owner(client, owner.token, "agt_" + uuid.uuid4().hex, owner.api_key)
        with (
            agent_process(url, bad_key, tmp_path / "bad-key.log") as refused,
            agent_process(url, unknown_agent, tmp_path / "unknown.log") as lost,
        ):
            refused_code = await wait_exit(refused)
            lost_code = await wait_exit(lost)
        state = await owner.state()

    assert refused_code == 1
    assert "refused the API key" in output(tmp_path / "bad-key.log")
    assert lost_code == 1
    assert "not found" in output(tmp_path / "unknown.log").lower()
    assert state == "STOPPED"


# -- background tasks of a remote agent -------------------------------------------


@pytest.mark.slow
async def test_a_remote_task_reports_progress_and_ends_with_the_handlers_answer(
    database_url: str, tmp_path: Path
) -> None:
    # Every report stored (steps 50 ms apart would be coalesced): each step is asserted.
    data = tmp_path / "data"
    async with (
        server(database_url, data, task_progress_interval_seconds=0) as url,
        graphql_client(url) as client,
    ):
        owner = await new_owner(client, configuration=TASK_TYPES)
        unconfigured = await client.execute(
            ENQUEUE, {"agentId": owner.agent_id, "input": {"type": "other"}}, token=owner.token
        )
        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            counted = await enqueue(owner, "count", {"to": 4, "stepSeconds": 0.05})
            events = await asyncio.wait_for(task_events(url, owner, counted["id"]), WAIT)
            done = await finished(owner, counted["id"])
            failing = await enqueue(owner, "fail", {"reason": "no thanks"})
            failed = await finished(owner, failing["id"])

            async def report(token: str, **variables: Any) -> Any:
                return await client.execute(TASK_PROGRESS, variables, token=token)

            late = await report(owner.api_key, taskId=counted["id"], progress=0.5)
            out_of_range = await report(owner.api_key, taskId=counted["id"], progress=1.5)
            mallory = str((await client.register("mallory@example.com"))["accessToken"])
            foreign = await report(mallory, taskId=counted["id"], progress=0.5)
            unknown = await report(owner.api_key, taskId="tsk_nope", progress=0.5)

    assert unconfigured.codes == ["BAD_USER_INPUT"]
    assert done["state"] == "COMPLETED", output(tmp_path / "agent.log")
    # The handler's answer, from that process; the attempt counted once.
    assert done["result"] == {"counted": 4, "pid": process.pid}
    assert done["attempts"] == 1 and done["progress"] == 1.0
    progress = [e["progress"] for e in events if e["event"] == "TASK_PROGRESS"]
    assert {0.25, 0.5, 0.75} <= set(progress), events
    assert events[-1]["state"] == "COMPLETED"
    assert failed["state"] == "FAILED"
    assert failed["error"] == "RuntimeError: no thanks"
    assert late.codes == ["CONFLICT"]
    assert out_of_range.codes == ["BAD_USER_INPUT"]
    assert foreign.codes == ["NOT_FOUND"]
    assert unknown.codes == ["NOT_FOUND"]


@pytest.mark.slow
async def test_a_remote_task_waits_pending_until_a_process_attaches(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        server(database_url, tmp_path / "data", task_sweep_seconds=0.1) as url,
        graphql_client(url) as client,
    ):
        owner = await new_owner(client, configuration=TASK_TYPES)
        queued = await enqueue(owner, "count", {"to": 2, "stepSeconds": 0.01})
        # No worker takes it while no process is attached (several sweeps pass).
        await asyncio.sleep(2.5)

        async def waiting() -> dict[str, Any] | None:
            task = await task_of(owner, queued["id"])
            return task if task["state"] == "PENDING" else None

        waited = await eventually(waiting, within=5, what="the task PENDING")
        with agent_process(url, owner, tmp_path / "agent.log") as process:
            await owner.wait_state("RUNNING")
            done = await finished(owner, queued["id"])

    assert waited["attempts"] == 0
    assert waited["error"] is None
    assert waited["startedAt"] is None  # never claimed, so no events while it waited
    assert done["state"] == "COMPLETED", output(tmp_path / "agent.log")
    assert done["result"] == {"counted": 2, "pid": process.pid}
    assert done["attempts"] == 1
