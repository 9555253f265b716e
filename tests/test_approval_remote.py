"""A remote agent's process asks a person, end to end, on SQLite and PostgreSQL: a real
server under uvicorn, a real `kai agent run` process (examples/careful_remote.py) whose
handler awaits `agent.request_approval`, and a person on a graphql-transport-ws socket who
sees the question on `approvalRequests` and answers it over that socket; the process goes
on, or reports the refusal, or that nobody answered in time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from kai.app import create_app
from kai.security.audit import Auditor
from tests.support.approvals import DECIDE, REQUESTS, Person, person
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import ROOT, clean_env, serve_app
from tests.support.settings import make_settings
from tests.support.tasks import eventually
from tests.support.ws_client import TRANSPORT_WS, Message, WSClient, ws_connect

pytestmark = pytest.mark.slow

COMMAND = """
mutation Command($agentId: ID!, $command: AgentCommandInput!) {
  sendCommand(agentId: $agentId, command: $command) { success result error }
}
"""
AGENT = "query Agent($id: ID!) { agent(id: $id) { state } }"
QUIET = 0.5


@asynccontextmanager
async def server(database_url: str, data_dir: Path) -> AsyncIterator[GraphQLClient]:
    # A brisk sweep: an approval nobody answers expires within a fraction of a second.
    settings = make_settings(
        database_url, data_dir, command_timeout_seconds=20, task_sweep_seconds=0.1
    )
    async with (
        serve_app(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield GraphQLClient(http)


@contextmanager
def careful_process(url: str, agent_id: str, api_key: str, log: Path) -> Iterator[None]:
    """`kai agent run examples.careful_remote:agent`, killed afterwards."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "kai.cli", "agent", "run"),
                *("examples.careful_remote:agent", "--url", url, "--agent-id", agent_id),
                *("--heartbeat-seconds", "0.3", "--max-backoff-seconds", "0.5"),
            ],
            env=clean_env(KAI_API_KEY=api_key, PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


async def asked(socket: WSClient, op_id: str) -> dict[str, Any]:
    return (await socket.next(op_id, timeout=20))["approvalRequests"]  # type: ignore[no-any-return]


async def decide_over(socket: WSClient, approval_id: str, approve: bool, reason: str) -> Any:
    """decideApproval sent on the person's socket, as a graphql-transport-ws operation."""
    variables = {"id": approval_id, "approve": approve, "reason": reason}
    op_id = await socket.subscribe(DECIDE, variables)
    messages = await socket.until_complete(op_id)
    assert [m.type for m in messages] == ["next", "complete"], messages
    return messages[0].payload["data"]["decideApproval"]


async def nothing_for(socket: WSClient, op_id: str) -> None:
    try:
        message: Message = await socket.receive(op_id, timeout=QUIET)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected {message}")


async def release(owner: Person, agent_id: str, **params: Any) -> dict[str, Any]:
    command = {"command": "release", "params": params}
    answer = await owner.run(COMMAND, agentId=agent_id, command=command)
    return answer["sendCommand"]  # type: ignore[no-any-return]


async def test_a_process_asks_a_person_who_answers_over_a_socket_and_it_goes_on(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path / "data") as client:
        url = str(client.http.base_url).rstrip("/")
        admin = await person(client, "admin@example.com")
        owner = await person(client, "owner@example.com")
        other = await person(client, "other@example.com")
        agent_id = await owner.agent(None, type="remote", name="careful")
        process_key = await owner.key("agent.command", agent_ids=[agent_id])
        reader_key = await owner.key("agent.read")
        with careful_process(url, agent_id, process_key, tmp_path / "agent.log"):

            async def running() -> bool:
                state = (await owner.run(AGENT, id=agent_id))["agent"]["state"]
                return bool(state == "RUNNING")

            await eventually(running, timeout=30)
            async with (
                ws_connect(url, TRANSPORT_WS, token=owner.token) as mine,
                ws_connect(url, TRANSPORT_WS, token=admin.token) as admins,
                ws_connect(url, TRANSPORT_WS, token=other.token) as others,
                ws_connect(url, TRANSPORT_WS, token=reader_key) as readers,
            ):
                ops = [await s.subscribe(REQUESTS) for s in (mine, admins, others, readers)]
                refused = await readers.until_complete(ops[3])
                assert [code for m in refused for code in m.codes] == ["FORBIDDEN"]
                await mine.alive()  # the subscriptions are in place before anything is asked

                waiting = asyncio.create_task(release(owner, agent_id, version="1.2", why="fix"))
                question = await asked(mine, ops[0])
                assert question["kind"] == "ACTION" and question["state"] == "PENDING"
                assert question["subject"] == {"release": "1.2", "why": "fix"}
                assert question["agent"] == {"id": agent_id}
                assert question["requestedBy"] == {"email": owner.email}
                assert (await asked(admins, ops[1]))["id"] == question["id"]
                await nothing_for(others, ops[2])
                assert not waiting.done()  # the process waits for the person

                decided = await decide_over(mine, question["id"], True, "go ahead")
                assert decided["state"] == "APPROVED"
                result = await asyncio.wait_for(waiting, 20)
                assert result["success"] is True, (tmp_path / "agent.log").read_text()
                assert result["result"] == {
                    "released": "1.2",
                    "state": "APPROVED",
                    "reason": "go ahead",
                }

                waiting = asyncio.create_task(release(owner, agent_id, version="2.0"))
                question = await asked(mine, ops[0])
                await decide_over(mine, question["id"], False, "not today")
                refusal = (await asyncio.wait_for(waiting, 20))["result"]
                assert refusal == {"released": None, "state": "REJECTED", "reason": "not today"}

                # Nobody answers: the approval expires and the process hears so.
                waiting = asyncio.create_task(release(owner, agent_id, version="3.0", timeout=1))
                question = await asked(mine, ops[0])
                expired = (await asyncio.wait_for(waiting, 20))["result"]
                assert expired["released"] is None and expired["state"] == "EXPIRED"
                assert expired["reason"] == "nobody decided within 1 s"


async def test_a_request_made_while_the_feed_is_authorized_still_reaches_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client subscribes, then reads the list: a request made after the subscription was
    # sent but before the server listened (its authorization is a round trip or two) is in
    # neither unless the feed reads what was asked since it was sent.
    async with server(database_url, tmp_path / "data") as client:
        url = str(client.http.base_url).rstrip("/")
        await person(client, "admin@example.com")
        owner = await person(client, "owner@example.com")
        agent_id = await owner.agent()
        flush = Auditor.flush
        made: list[str] = []
        armed = False

        async def a_request_meanwhile(self: Auditor) -> None:
            nonlocal armed
            await flush(self)
            if armed:
                armed = False
                answer = await owner.run(COMMAND, agentId=agent_id, command={"command": "deploy"})
                made.append(answer["sendCommand"]["error"] or "held")

        monkeypatch.setattr(Auditor, "flush", a_request_meanwhile)
        async with ws_connect(url, TRANSPORT_WS, token=owner.token) as mine:
            armed = True
            op_id = await mine.subscribe(REQUESTS)
            question = await asked(mine, op_id)
            assert made == ["held"]
            assert question["kind"] == "COMMAND" and question["subject"]["command"] == "deploy"
            # And live from then on, the first one not sent twice.
            again = await owner.run(COMMAND, agentId=agent_id, command={"command": "deploy"})
            assert again["sendCommand"]["success"] is False
            assert (await asked(mine, op_id))["id"] != question["id"]
            await nothing_for(mine, op_id)
