"""Replay of missed events: `agentEvents(after: 0)` over graphql-transport-ws, against a bare
WebSocket endpoint that selects the same rows and sends each as a `next` message.

Starts one `kai serve` (SQLite in a temp directory, rate limits off), makes one `echo`
agent and gives it `--events` events (50 COMMAND_RESULTs through `sendCommand`, beside the
two of its start, then copies of them with new seqs written into the database); then,
`--repeats` times each, alternating, on a fresh socket:

- kAI: `connection_init` with the user's token, `subscribe` to `agentEvents(agentId,
  after: 0) { seq agentId type data timestamp }`, timed from the subscribe until the
  message of the agent's last seq arrives;
- bare (bench/_replay_bare.py): the same client and document against a Starlette endpoint
  under the same uvicorn settings reading the same SQLite file with one SELECT and sending
  each row as kAI would write it, timed the same way.

It checks that both sent the same messages (every one, as JSON), and prints the medians,
the server CPU per event of each, and the ratio kAI / bare (target: at most 2).

    uv run python bench/replay.py [--events 10000] [--repeats 3]
    uv run python bench/replay.py --quick   # 200 events, once: what CI runs
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/replay.py`, bench/ would be first on sys.path: the checkout instead
# (bench/http.py is named like the standard library's `http`; the benches import `bench.*`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench._seed import COMMAND, UNLIMITED, Api
from bench._support import (
    Column,
    Table,
    cpu_seconds,
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

EVENTS = """
subscription Replay($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq agentId type data timestamp }
}
"""
QUICK = {"events": 200, "repeats": 1}
TARGET = 2.0
PROTOCOL = [Subprotocol("graphql-transport-ws")]


def options() -> Any:
    made = parser(__doc__, "bench/replay.py")
    made.add_argument("--events", type=int, default=10_000, help="events to replay (10000)")
    made.add_argument("--repeats", type=int, default=3, help="replays of each server (3)")
    return parse(made, QUICK)


# Events made through the API; the rest are copies of them, written into the database.
THROUGH_API = 50


async def seed(url: str, database: Path, events: int) -> tuple[str, str, int]:
    """(token, agent id, its last seq) of a user whose echo agent has `events` events or more:
    the first THROUGH_API from commands, as kAI writes them; then copies of those (new seqs,
    the same type, data and timestamp), inserted into the database in one statement per
    round, so that seeding 10,000 does not take 10,000 requests."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        api = Api(http)
        await api.register()
        agent_id = await api.echo_agent()
        gate = asyncio.Semaphore(8)

        async def one(n: int) -> None:
            async with gate:
                command = {"command": "ping", "params": {"n": n}}
                await api.call(COMMAND, {"agentId": agent_id, "command": command})

        await asyncio.gather(*(one(n) for n in range(min(events, THROUGH_API))))
    last = await asyncio.to_thread(_copies, database, agent_id, events + 2)  # its start made 2
    return api.token, agent_id, last


def _copies(database: Path, agent_id: str, wanted: int) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        last = int(
            connection.execute(
                "SELECT max(seq) FROM agent_event WHERE agent_id = ?", (agent_id,)
            ).fetchone()[0]
        )
        made = last
        while made < wanted:
            connection.execute(
                "INSERT INTO agent_event (agent_id, seq, type, data, timestamp)"
                " SELECT agent_id, seq + ?, type, data, timestamp FROM agent_event"
                " WHERE agent_id = ? AND seq <= ? AND seq + ? <= ?",
                (made, agent_id, last, made, wanted),
            )
            made = min(made + last, wanted)
        connection.execute("UPDATE agent SET last_event_seq = ? WHERE id = ?", (made, agent_id))
        return made


async def replay(url: str, token: str, agent_id: str, last: int) -> tuple[float, list[str]]:
    """Seconds from the subscribe to the message of seq `last`, and every message's text."""
    socket_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(socket_url, subprotocols=PROTOCOL, max_size=None) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        variables = {"agentId": agent_id, "after": 0}
        started = time.perf_counter()
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": EVENTS, "variables": variables},
                }
            )
        )
        texts: list[str] = []
        while True:
            text = str(await ws.recv())
            message = json.loads(text)
            if message["type"] != "next":
                raise RuntimeError(f"replay ended early: {text[:500]}")
            texts.append(text)
            if message["payload"]["data"]["agentEvents"]["seq"] == last:
                return time.perf_counter() - started, texts


def same_messages(kai_texts: list[str], bare_texts: list[str]) -> list[str]:
    if [json.loads(text) for text in kai_texts] == [json.loads(text) for text in bare_texts]:
        return []
    return [
        f"kAI and the bare endpoint sent different messages: {kai_texts[:1]} vs {bare_texts[:1]}"
    ]


async def measure(args: Any, scratch: Path) -> None:
    kai_port, bare_port = free_port(), free_port()
    env = kai_env(scratch, KAI_QDRANT_URL=":memory:", **UNLIMITED)
    kai_url, bare_url = f"http://127.0.0.1:{kai_port}", f"http://127.0.0.1:{bare_port}"
    database = str(scratch / "kai.db")
    bare_argv = [sys.executable, "bench/_replay_bare.py", str(bare_port), database]
    async with (
        serving_async(
            kai("serve", "--port", str(kai_port)), env, kai_port, scratch / "serve.log"
        ) as server,
        serving_async(bare_argv, env, bare_port, scratch / "bare.log") as bare,
    ):
        progress(f"seeding {args.events} events")
        token, agent_id, last = await seed(kai_url, scratch / "kai.db", args.events)
        rows: dict[str, list[tuple[float, float]]] = {"kAI": [], "bare": []}
        texts: dict[str, list[str]] = {}
        for _ in range(args.repeats):
            for name, url, process in (("kAI", kai_url, server), ("bare", bare_url, bare)):
                cpu = cpu_seconds(process.pid)
                seconds, texts[name] = await replay(url, token, agent_id, last)
                rows[name].append((seconds, cpu_seconds(process.pid) - cpu))
        report(args, last, rows)
        finish(same_messages(texts["kAI"], texts["bare"]))


def report(args: Any, events: int, rows: dict[str, list[tuple[float, float]]]) -> None:
    print(machine())
    print(
        f"agentEvents(after: 0) replaying {events} stored events over graphql-transport-ws, "
        f"from the subscribe to the last message; median of {args.repeats}, alternating"
    )
    table = Table(
        Column("server", "s", "<"),
        Column("  seconds", ".3f"),
        Column("   events/s", ",.0f"),
        Column("server CPU µs/event", ".1f"),
        Column("kAI / bare", ".2f"),
    )
    table.header()
    medians = {name: statistics.median(s for s, _ in runs) for name, runs in rows.items()}
    for name, runs in rows.items():
        cpu = statistics.median(c for _, c in runs)
        ratio = medians["kAI"] / medians["bare"] if name == "kAI" else 1.0
        table.row(name, medians[name], events / medians[name], cpu / events * 1e6, ratio)
    ratio = medians["kAI"] / medians["bare"]
    verdict = "met" if ratio <= TARGET else f"missed ({ratio / TARGET:.1f}x over)"
    print(f"target: kAI / bare <= {TARGET:g}: {ratio:.2f}, {verdict}")


def main() -> None:
    args = options()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-replay-") as directory:
        asyncio.run(measure(args, Path(directory)))


if __name__ == "__main__":
    main()
