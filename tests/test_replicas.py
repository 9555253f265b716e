"""Two real `kai serve` processes sharing PostgreSQL and Redis.

A subscriber on replica A sees, in order and without gaps, the events caused
through replica B; when Redis is killed and started again mid-stream, it still
gets every event exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.redis_server import RedisProcess
from tests.support.servers import ROOT, clean_env, kai_serve
from tests.support.settings import TEST_SECRET
from tests.support.ws_client import TRANSPORT_WS, WSClient, ws_connect

pytestmark = pytest.mark.slow

EVENTS = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq type data }
}
"""
WAIT = 15.0


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.output))


@contextmanager
def replica(name: str, env: dict[str, str]) -> Iterator[Replica]:
    """`kai serve` with `env`; its output is read as it comes (a full pipe would stall it)."""
    with kai_serve(env, read_output=True) as (url, process):
        server = Replica(url, process)
        stdout = process.stdout
        assert stdout is not None

        def drain() -> None:
            for line in stdout:
                server.output.append(line)

        # The thread ends at EOF, when kai_serve has stopped the process.
        threading.Thread(target=drain, name=f"{name} output", daemon=True).start()
        yield server


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kai.cli",
            "migrate",
            env=clean_env(KAI_DATABASE_URL=url),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(migrate.communicate(), 60)
        assert migrate.returncode == 0, output.decode(errors="replace")
        yield url


@pytest.fixture
def replicas(
    database_url: str, redis: RedisProcess, tmp_path: Path
) -> Iterator[tuple[Replica, Replica]]:
    def env(name: str) -> dict[str, str]:
        return clean_env(
            KAI_DATABASE_URL=database_url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / name),
            KAI_LOG_LEVEL="INFO",
        )

    with replica("a", env("a")) as a, replica("b", env("b")) as b:
        yield a, b


class Producer:
    """Sends echo commands `c-0`, `c-1`, ... through one replica, one after another."""

    def __init__(self, client: GraphQLClient, token: str, agent_id: str):
        self.client = client
        self.token = token
        self.agent_id = agent_id
        self.sent: list[str] = []

    async def send(self) -> None:
        name = f"c-{len(self.sent)}"
        result = await self.client.execute(
            COMMAND,
            {"agentId": self.agent_id, "command": {"command": name}},
            token=self.token,
        )
        assert result.ok()["sendCommand"]["success"] is True, result.body
        self.sent.append(name)

    async def run(self, stop: asyncio.Event, pause: float = 0.02) -> None:
        while not stop.is_set():
            await self.send()
            await asyncio.sleep(pause)


class Consumer:
    """Reads agentEvents on a socket, noting when each event arrived."""

    def __init__(self, socket: WSClient, op_id: str):
        self.socket = socket
        self.op_id = op_id
        self.events: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def run(self) -> None:
        while True:
            event = (await self.socket.next(self.op_id, timeout=WAIT))["agentEvents"]
            self.events.append(event)
            self.arrived.append(time.monotonic())

    def commands(self) -> list[str]:
        return [e["data"]["command"] for e in self.events if e["type"] == "COMMAND_RESULT"]

    async def until_commands(self, names: list[str]) -> None:
        """Until as many command results as `names` have arrived (or the reader failed)."""
        async with asyncio.timeout(WAIT):
            while len(self.commands()) < len(names):
                if self.task is not None and self.task.done():
                    self.task.result()
                    raise AssertionError("the subscription ended")
                await asyncio.sleep(0.01)


async def test_a_subscriber_on_one_replica_gets_every_event_from_the_other_through_a_redis_restart(
    replicas: tuple[Replica, Replica], redis: RedisProcess
) -> None:
    a, b = replicas
    async with httpx.AsyncClient(base_url=b.url, timeout=WAIT) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        agent_id = str((await create_echo(client, token))["id"])
        producer = Producer(client, token, agent_id)

        async with ws_connect(a.url, TRANSPORT_WS, token=token) as socket:
            op_id = await socket.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            consumer = Consumer(socket, op_id)
            consumer.start()
            try:
                # Live across replicas: caused on B, seen on A.
                for _ in range(5):
                    await producer.send()
                await consumer.until_commands(producer.sent)
                assert consumer.commands() == producer.sent

                # Redis dies and comes back while B keeps producing.
                stop = asyncio.Event()
                producing = asyncio.create_task(producer.run(stop))
                await consumer.until_commands(producer.sent[:10])
                before = len(producer.sent)
                redis.kill()
                await asyncio.sleep(1.0)
                during = len(producer.sent)
                redis.start()
                restarted = time.monotonic()
                await asyncio.sleep(1.5)
                stop.set()
                await producing
                await consumer.until_commands(producer.sent)

                # What the outage cost: from Redis being back to A delivering
                # the first event B produced while it was down.
                # (+1: the command in flight at the kill may have gone out live.)
                first_missed = consumer.commands().index(producer.sent[before + 1])
                caught_up = [
                    arrived
                    for event, arrived in zip(consumer.events, consumer.arrived, strict=True)
                    if event["type"] == "COMMAND_RESULT"
                ][first_missed]
            finally:
                await consumer.stop()

    seqs = [event["seq"] for event in consumer.events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs  # in order, no gap, no duplicate
    assert consumer.commands() == producer.sent
    assert during > before, "B produced nothing while Redis was down"
    for server in (a, b):
        assert server.logged("broker connection lost"), "".join(server.output)
        assert server.logged("broker reconnected"), "".join(server.output)
    delay = caught_up - restarted
    assert delay < 5, delay
    print(
        f"\n{len(producer.sent)} commands, {during - before} during the outage; "
        f"A delivered them {delay:.2f} s after Redis was back"
    )
