"""bench/fanout.py's client processes: thousands of graphql-transport-ws subscribers.

Each process (multiprocessing, spawned) holds its share of the sockets, each its own
connection that sends `connection_init` with a bearer token and subscribes to
`agentEvents` of one agent, and notes when each event (by its `seq`) arrives. The bench
drives them over pipes: open, collect an event's arrival times, live, sample, close, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import re
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

EVENTS = """
subscription($agentId: ID!) { agentEvents(agentId: $agentId) { seq agentId type data timestamp } }
"""
PROTOCOL = "graphql-transport-ws"
SEQ = re.compile(r'"seq":\s*(\d+)')


@dataclass
class Fleet:
    """One client process's subscribers: each its own socket, each message timestamped."""

    url: str
    init: str
    subscribe: str
    count: int
    concurrency: int
    deflate: bool
    arrivals: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    waiters: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    sockets: list[ClientConnection] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    live: set[int] = field(default_factory=set)  # ids of the sockets that got an event
    sample: str | None = None

    async def open(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        began = time.monotonic()
        gate = asyncio.Semaphore(self.concurrency)
        ready = [asyncio.get_running_loop().create_future() for _ in range(self.count)]
        self.tasks = [asyncio.create_task(self._run(gate, future)) for future in ready]
        done, pending = await asyncio.wait(ready, timeout=timeout)
        failures = [str(f.exception()) for f in done if f.exception() is not None]
        return {
            "ready": len(done) - len(failures),
            "failed": failures[:3] + ([f"... {len(failures)} in all"] if len(failures) > 3 else []),
            "pending": len(pending),
            "retries": list(self.retries),
            "seconds": time.monotonic() - began,
        }

    async def _run(self, gate: asyncio.Semaphore, ready: asyncio.Future[None]) -> None:
        """Connects, as a client would: a refused or dropped attempt is tried again (3 in all)."""
        for attempt in range(3):
            ws: ClientConnection | None = None
            try:
                async with gate:
                    ws = await connect(
                        self.url,
                        subprotocols=[Subprotocol(PROTOCOL)],
                        compression="deflate" if self.deflate else None,
                        ping_interval=None,
                        open_timeout=60,
                        close_timeout=5,
                    )
                    await ws.send(self.init)
                    ack = await asyncio.wait_for(ws.recv(), 60)
                    if '"connection_ack"' not in str(ack):
                        raise RuntimeError(f"no connection_ack: {ack!r}")
                    await ws.send(self.subscribe)
                break
            except Exception as exc:
                self.retries.append(f"{type(exc).__name__}: {exc}"[:120])
                if ws is not None:
                    ws.transport.abort()
                if attempt == 2:
                    ready.set_exception(exc)
                    ready.exception()  # retrieved: reported by open()
                    return
                await asyncio.sleep(1 + attempt)
        assert ws is not None
        self.sockets.append(ws)
        ready.set_result(None)
        try:
            async for message in ws:
                now = time.monotonic_ns()
                found = SEQ.search(message if isinstance(message, str) else message.decode())
                if found is None:
                    self.closes.append(f"unexpected: {str(message)[:200]}")
                    continue
                seq = int(found.group(1))
                arrived = self.arrivals[seq]
                arrived.append(now)
                self.live.add(id(ws))
                if self.sample is None:
                    self.sample = str(message)
                waiter = self.waiters.get(seq)
                if waiter is not None and len(arrived) >= self.count and not waiter.done():
                    waiter.set_result(None)
        except ConnectionClosed as exc:
            self.closes.append(f"closed {exc.rcvd.code if exc.rcvd else None}")

    async def collect(self, seq: int, timeout: float) -> list[int]:  # noqa: ASYNC109
        """Arrival times (monotonic ns) of `seq` at this process's subscribers."""
        if len(self.arrivals[seq]) < self.count:
            waiter = self.waiters[seq] = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        return self.arrivals.pop(seq, [])

    async def close(self) -> None:
        sockets, self.sockets = self.sockets, []
        for start in range(0, len(sockets), 500):
            await asyncio.gather(
                *(ws.close() for ws in sockets[start : start + 500]), return_exceptions=True
            )
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []


def client_process(pipe: Connection) -> None:
    """The body of a client process: runs the commands the bench sends over `pipe`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops us with "exit"
    asyncio.run(_client_loop(pipe))


async def _client_loop(pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    fleet: Fleet | None = None
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "open":
            fleet = Fleet(**args["fleet"])
            pipe.send(await fleet.open(args["timeout"]))
        elif command == "collect":
            assert fleet is not None
            pipe.send(await fleet.collect(args["seq"], args["timeout"]))
        elif command == "live":  # how many got an event so far; forgets the arrivals
            pipe.send(len(fleet.live) if fleet else 0)
            if fleet is not None:
                fleet.arrivals.clear()
        elif command == "sample":
            pipe.send(fleet.sample if fleet else None)
        elif command == "close":
            closes = fleet.closes if fleet else []
            if fleet is not None:
                await fleet.close()
            fleet = None
            pipe.send(closes)
        elif command == "exit":
            if fleet is not None:
                await fleet.close()
            pipe.send(None)
            return


class Clients:
    """The client processes, driven from the bench's event loop."""

    def __init__(self, processes: int):
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_process, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        self.counts = [0] * processes

    async def _ask(self, pipe: Connection, command: str, args: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        pipe.send((command, args))
        return await loop.run_in_executor(None, pipe.recv)

    async def _all(self, command: str, args: list[dict[str, Any]]) -> list[Any]:
        pipes = self.pipes[: len(args)]
        return list(
            await asyncio.gather(
                *(self._ask(p, command, a) for p, a in zip(pipes, args, strict=True))
            )
        )

    async def open(
        self, url: str, token: str, agent_id: str, count: int, *, deflate: bool, concurrency: int
    ) -> dict[str, Any]:
        """`count` subscribers, spread evenly over the processes (fewer if count is small)."""
        used = min(len(self.pipes), count)
        self.counts = [count // used + (1 if i < count % used else 0) for i in range(used)]
        init = json.dumps(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        subscribe = json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
            }
        )
        timeout = 60 + count / 20  # at least 20 connections a second, or it is broken
        answers = await self._all(
            "open",
            [
                {
                    "fleet": {
                        "url": url,
                        "init": init,
                        "subscribe": subscribe,
                        "count": n,
                        "concurrency": max(1, concurrency // used),
                        "deflate": deflate,
                    },
                    "timeout": timeout,
                }
                for n in self.counts
            ],
        )
        return {
            "ready": sum(a["ready"] for a in answers),
            "failed": [f for a in answers for f in a["failed"]],
            "retries": [r for a in answers for r in a["retries"]],
            "seconds": max(a["seconds"] for a in answers),
        }

    async def collect(self, seq: int, timeout: float) -> list[int]:  # noqa: ASYNC109
        answers = await self._all(
            "collect", [{"seq": seq, "timeout": timeout} for _ in self.counts]
        )
        return [t for answer in answers for t in answer]

    async def live(self) -> int:
        """Subscribers that have had an event (so are live on the hub); drops the arrivals."""
        return sum(await self._all("live", [{} for _ in self.counts]))

    async def sample(self) -> str | None:
        answer: str | None = await self._ask(self.pipes[0], "sample", {})
        return answer

    async def close(self) -> list[str]:
        answers = await self._all("close", [{} for _ in self.counts])
        return [c for answer in answers for c in answer]

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                pipe.send(("exit", {}))
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
