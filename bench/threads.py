"""Messages on threads against commands to the same agent, in the same run.

Starts one `kai serve` (SQLite, the embedded setup) with one `echo` agent, and measures,
round after round, `--clients` clients each sending requests one after another for
`--seconds`:

- command: `sendCommand` (the baseline: the agent answers the same words, the command
  and its COMMAND_RESULT event are stored);
- message: `postMessage` on a new thread per client (the question and the answer stored,
  each a row and a MESSAGE event, the thread claimed and freed, the history read);
- long thread: `postMessage` on a thread per client that already holds `--history`
  messages, more than KAI_THREAD_HISTORY_TOKENS (8,000) lets through (each message here
  counts 11 tokens): the history is read newest first only until the budget is full, so
  what a message costs is bounded by the budget, not by the thread's length.

It prints requests per second and median latency of each, and message / command. What a
message costs beyond a command is what keeping the conversation costs.

    uv run python bench/threads.py [--seconds 5] [--rounds 2] [--clients 4] [--history 1500]
    uv run python bench/threads.py --quick   # what CI runs
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench._seed import UNLIMITED, Api
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
    percentile,
    progress,
    serving_async,
)

COMMAND = """
mutation($agentId: ID!, $command: AgentCommandInput!) {
  sendCommand(agentId: $agentId, command: $command) { success }
}
"""
THREAD = "mutation($agentId: ID!) { createThread(input: {agentId: $agentId}) { id } }"
POST = """
mutation($threadId: ID!, $text: String!) {
  postMessage(threadId: $threadId, input: {content: $text}) { content }
}
"""
TEXT = "the quick brown fox jumps over the lazy dog"
QUICK = {"seconds": 0.5, "rounds": 1, "clients": 2, "history": 20}
SIDES = ("command", "message", "long thread")


def options() -> Any:
    made = parser(__doc__, "bench/threads.py")
    made.add_argument("--seconds", type=float, default=5.0, help="per side and round (5)")
    made.add_argument("--rounds", type=int, default=2, help="rounds of every side (2)")
    made.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    made.add_argument("--history", type=int, default=1500, help="messages of a long thread (1500)")
    return parse(made, QUICK)


async def load(
    clients: int, seconds: float, send: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """Requests per second and each request's latency, `clients` sending one after another."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await send(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def seed_threads(api: Api, agent_id: str, clients: int, history: int) -> list[str]:
    threads = [
        (await api.call(THREAD, {"agentId": agent_id}))["createThread"]["id"]
        for _ in range(clients)
    ]

    async def fill(thread_id: str) -> None:
        for _ in range(history // 2):  # a question and its answer each time
            await api.call(POST, {"threadId": thread_id, "text": TEXT})

    await asyncio.gather(*(fill(t) for t in threads))
    return threads


async def measure(args: Any, scratch: Path) -> None:
    port = free_port()
    env = kai_env(scratch, KAI_QDRANT_URL=":memory:", KAI_TASK_SWEEP_SECONDS="3600", **UNLIMITED)
    async with (
        serving_async(kai("serve", "--port", str(port)), env, port, scratch / "serve.log"),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
    ):
        api = Api(http)
        await api.register()
        agent_id = await api.echo_agent()
        progress(f"seeding {args.clients} threads of {args.history} messages")
        long_threads = await seed_threads(api, agent_id, args.clients, args.history)
        new_threads = await seed_threads(api, agent_id, args.clients, 0)
        sends: dict[str, Callable[[int], Awaitable[Any]]] = {
            "command": lambda n: api.call(
                COMMAND,
                {"agentId": agent_id, "command": {"command": "say", "params": {"text": TEXT}}},
            ),
            "message": lambda n: api.call(POST, {"threadId": new_threads[n], "text": TEXT}),
            "long thread": lambda n: api.call(POST, {"threadId": long_threads[n], "text": TEXT}),
        }
        rates: dict[str, list[float]] = {side: [] for side in SIDES}
        latencies: dict[str, list[float]] = {side: [] for side in SIDES}
        for round_ in range(args.rounds):
            for side in SIDES:
                progress(f"round {round_ + 1}: {side}")
                rate, took = await load(args.clients, args.seconds, sends[side])
                rates[side].append(rate)
                latencies[side] += took
        report(args, rates, latencies)
        finish([f"{side}: no request completed" for side in SIDES if not latencies[side]])


def report(args: Any, rates: dict[str, list[float]], latencies: dict[str, list[float]]) -> None:
    print(machine())
    print(
        f"one echo agent, {args.clients} clients sending one request after another, "
        f"{args.seconds:g} s per side, median of {args.rounds} rounds; "
        f"long thread: {args.history} messages before"
    )
    table = Table(
        Column("side".ljust(len("long thread")), "s", "<"),
        Column("requests/s", ",.0f"),
        Column("p50 ms", ".1f"),
        Column("/ command", ".2f"),
    )
    table.header()
    baseline = statistics.median(rates["command"])
    for side in SIDES:
        rate = statistics.median(rates[side])
        table.row(side, rate, percentile(latencies[side], 50) * 1000, rate / baseline)


def main() -> None:
    args = options()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-threads-") as scratch:
        asyncio.run(measure(args, Path(scratch)))


if __name__ == "__main__":
    main()
