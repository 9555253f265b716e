"""Webhook deliveries per second: kAI's sender against a bare client posting the same signed
requests, to one endpoint, in the same run.

Starts one `kai serve` (SQLite, the embedded setup: its own sender sends) and gives
`--agents` echo agents `--events` COMMAND_RESULT events in all (through `sendCommand`);
then registers a webhook for COMMAND_RESULT to an endpoint in a process of its own
(bench/_webhook_receiver.py, which verifies every signature with `standardwebhooks`), and:

- kAI: `replayWebhook(after: 0)` for each agent queues every event; timed from the first
  replay until the endpoint has received every one (each agent's in seq order, at most
  KAI_WEBHOOK_ENDPOINT_CONCURRENCY at once, as a receiver would see in production);
- bare: a client in this process sends the same bodies to the same endpoint, signed with
  the same secret by the `standardwebhooks` package, from as many concurrent senders as
  kAI could use (min(agents, endpoint concurrency)), timed the same way.

It checks that every request verified and every delivery arrived, and prints both rates
and kAI / bare.

    uv run python bench/webhooks.py [--events 2000] [--agents 8] [--repeats 2]
    uv run python bench/webhooks.py --quick   # 60 events on 3 agents, once: what CI runs
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from bench._seed import COMMAND, UNLIMITED, Api
from bench._support import (
    Column,
    Table,
    exit_on_sigterm,
    finish,
    free_port,
    kai,
    kai_env,
    machine,
    parse,
    parser,
    progress,
    serving_async,
)

CREATE = """
mutation($url: String!) {
  createWebhook(input: {url: $url, eventTypes: [COMMAND_RESULT]}) { secret webhook { id } }
}
"""
REPLAY = "mutation($id: ID!, $agentId: ID!) { replayWebhook(id: $id, agentId: $agentId, after: 0) }"
QUICK = {"events": 60, "agents": 3, "repeats": 1}
ENDPOINT_CONCURRENCY = 4  # kAI's default KAI_WEBHOOK_ENDPOINT_CONCURRENCY


def options() -> Any:
    made = parser(__doc__, "bench/webhooks.py")
    made.add_argument("--events", type=int, default=2000, help="events in all (2000)")
    made.add_argument("--agents", type=int, default=8, help="agents they come from (8)")
    made.add_argument("--repeats", type=int, default=2, help="runs of each side (2)")
    return parse(made, QUICK)


async def seed(api: Api, agents: int, events: int) -> list[str]:
    await api.register()
    agent_ids = [await api.echo_agent() for _ in range(agents)]
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> None:
        async with gate:
            command = {"command": "ping", "params": {"n": n}}
            await api.call(COMMAND, {"agentId": agent_ids[n % agents], "command": command})

    await asyncio.gather(*(one(n) for n in range(events)))
    return agent_ids


async def received(http: httpx.AsyncClient, receiver: str) -> dict[str, int]:
    return dict((await http.get(f"{receiver}/stats")).json())


async def until_received(http: httpx.AsyncClient, receiver: str, total: int) -> float:
    while (await received(http, receiver))["ids"] < total:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.01)
    return time.perf_counter()


async def kai_run(
    api: Api, http: httpx.AsyncClient, receiver: str, webhook_id: str, agent_ids: list[str]
) -> tuple[float, int]:
    await http.post(f"{receiver}/reset")
    started = time.perf_counter()
    total = 0
    for agent_id in agent_ids:
        total += (await api.call(REPLAY, {"id": webhook_id, "agentId": agent_id}))["replayWebhook"]
    ended = await until_received(http, receiver, total)
    return ended - started, total


async def bare_run(
    http: httpx.AsyncClient, receiver: str, secret: str, bodies: list[bytes], senders: int
) -> float:
    """The same bodies, signed as kAI signs them, from `senders` concurrent senders."""
    await http.post(f"{receiver}/reset")
    signer = Webhook(secret)
    queue = list(bodies)
    started = time.perf_counter()

    async def sender() -> None:
        while queue:
            body = queue.pop()
            message_id = f"whd_{uuid.uuid4().hex}"
            now = datetime.now(UTC)
            headers = {
                "webhook-id": message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(message_id, now, body),
                "content-type": "application/json",
            }
            answer = await http.post(f"{receiver}/hook", content=body, headers=headers)
            answer.raise_for_status()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return time.perf_counter() - started


def bodies_like(events: int) -> list[bytes]:
    """Bodies of the size kAI sends for a COMMAND_RESULT of `ping`."""
    stamp = datetime.now(UTC).isoformat()
    return [
        json.dumps(
            {
                "type": "COMMAND_RESULT",
                "timestamp": stamp,
                "data": {
                    "agentId": f"agt_{uuid.uuid4().hex}",
                    "seq": n,
                    "type": "COMMAND_RESULT",
                    "data": {"command": "ping", "success": True, "result": {"n": n}},
                    "timestamp": stamp,
                },
            },
            separators=(",", ":"),
        ).encode()
        for n in range(events)
    ]


async def measure(args: Any, scratch: Path) -> None:
    kai_port, receiver_port = free_port(), free_port()
    env = kai_env(scratch, KAI_QDRANT_URL=":memory:", **UNLIMITED)
    kai_url, receiver = f"http://127.0.0.1:{kai_port}", f"http://127.0.0.1:{receiver_port}"
    async with (
        serving_async(kai("serve", "--port", str(kai_port)), env, kai_port, scratch / "serve.log"),
        httpx.AsyncClient(base_url=kai_url, timeout=120) as kai_http,
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http,
    ):
        api = Api(kai_http)
        progress(f"seeding {args.events} events on {args.agents} agents")
        agent_ids = await seed(api, args.agents, args.events)
        made = (await api.call(CREATE, {"url": f"{receiver}/hook"}))["createWebhook"]
        # Its events were stored before it existed: nothing is queued until the replays.
        receiver_argv = [sys.executable, "bench/_webhook_receiver.py", str(receiver_port)]
        async with serving_async(
            [*receiver_argv, made["secret"]], env, receiver_port, scratch / "receiver.log"
        ):
            rows: dict[str, list[float]] = {"kAI": [], "bare": []}
            problems: list[str] = []
            senders = min(args.agents, ENDPOINT_CONCURRENCY)
            for _ in range(args.repeats):
                seconds, total = await kai_run(
                    api, http, receiver, made["webhook"]["id"], agent_ids
                )
                rows["kAI"].append(total / seconds)
                problems += checked(await received(http, receiver), total, "kAI")
                seconds = await bare_run(
                    http, receiver, made["secret"], bodies_like(total), senders
                )
                rows["bare"].append(total / seconds)
                problems += checked(await received(http, receiver), total, "bare")
            report(args, total, senders, rows)
            finish(problems)


def checked(stats: dict[str, int], total: int, who: str) -> list[str]:
    problems = []
    if stats["invalid"]:
        problems.append(f"{who}: {stats['invalid']} requests did not verify")
    if stats["ids"] != total:
        problems.append(f"{who}: {stats['ids']} of {total} deliveries arrived")
    return problems


def report(args: Any, total: int, senders: int, rows: dict[str, list[float]]) -> None:
    print(machine())
    print(
        f"{total} COMMAND_RESULT deliveries from {args.agents} agents to one endpoint that "
        f"verifies each signature; bare: {senders} concurrent senders; median of {args.repeats}"
    )
    table = Table(
        Column("side", "s", "<"), Column("deliveries/s", ",.0f"), Column("kAI / bare", ".2f")
    )
    table.header()
    kai_rate, bare_rate = statistics.median(rows["kAI"]), statistics.median(rows["bare"])
    table.row("kAI", kai_rate, kai_rate / bare_rate)
    table.row("bare", bare_rate, 1.0)


def main() -> None:
    args = options()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-webhooks-") as scratch:
        asyncio.run(measure(args, Path(scratch)))


if __name__ == "__main__":
    main()
