"""bench/fanout.py's slow subscribers: sockets that subscribe and stop reading.

On a fresh `kai serve`, one socket reads everything while a few raw sockets (a 4 KiB
receive buffer) subscribe and stop reading, and thousands of large events go out: the
server's RSS as they go, what the hub does with the stuck sockets (cut off at
KAI_SUBSCRIBER_BUFFER messages), and what one of them finds once it reads again.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench._fanout_clients import EVENTS, PROTOCOL, SEQ
from bench._fanout_runs import Server, command, kai_server, metric, setup, wait_subscribed
from bench._seed import Api
from bench._support import KIB, MIB, Column, Table


def ws_frame(text: str) -> bytes:
    """A masked text frame (a client's)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def ws_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete (unmasked, server) frames at the start of `buffer`, removed from it."""
    frames = []
    while len(buffer) >= 2:
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        at = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length, at = struct.unpack(">H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length, at = struct.unpack(">Q", buffer[2:10])[0], 10
        if len(buffer) < at + length:
            break
        frames.append((opcode, bytes(buffer[at : at + length])))
        del buffer[: at + length]
    return frames


class StuckSubscriber:
    """A raw socket that subscribes, then does not read (4 KiB receive buffer)."""

    def __init__(self, port: int, token: str, agent_id: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
            ).encode()
        )
        self.buffer = bytearray()
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"bench: handshake refused: {head[:200]!r}")
        self.buffer = bytearray(rest)
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        self.sock.sendall(ws_frame(json.dumps(init)))
        while not any(b"connection_ack" in data for _, data in ws_frames(self.buffer)):
            self.buffer += self._recv()
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
        }
        self.sock.sendall(ws_frame(json.dumps(subscribe)))

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("bench: the server closed the connection")
        return data

    def read_all(self, timeout: float) -> tuple[int, int | None, str]:
        """Reads again until a close frame or EOF: (events got, close code, reason)."""
        self.sock.settimeout(timeout)
        events = 0
        try:
            while True:
                for opcode, data in ws_frames(self.buffer):
                    if opcode == 0x8:
                        code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
                        return events, code, data[2:].decode(errors="replace")
                    if opcode == 0x1 and b'"next"' in data:
                        events += 1
                data = self.sock.recv(1 << 20)
                if not data:
                    return events, None, "EOF without a close frame"
                self.buffer += data
        except TimeoutError:
            return events, None, f"nothing for {timeout:g} s, no close frame"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class SlowRun:
    events: int
    payload_kib: int
    stuck: int
    samples: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    healthy_got: int = 0
    healthy_in_order: bool = False
    held: list[tuple[float, float, float]] = field(default_factory=list)
    rss_start_kib: int = 0
    resumed_after: float = float("nan")  # seconds from subscribing to reading again
    resumed_at_event: int = 0
    resumed: tuple[int, int | None, str] = (0, None, "not read")
    others: list[tuple[int, int | None, str]] = field(default_factory=list)
    seconds: float = 0.0
    buffer: str = "default (1000)"  # KAI_SUBSCRIBER_BUFFER
    hold_step: float = 5.0  # seconds between looks at the server after the last event


class HealthyReader:
    """A subscriber that reads everything; the seqs it got, in the order it got them."""

    def __init__(self, socket: ClientConnection, expected: int):
        self.socket = socket
        self.expected = expected
        self.seqs: list[int] = []
        self.all_in = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: Server, token: str, agent_id: str, expected: int) -> HealthyReader:
        socket = await connect(
            server.ws_url,
            subprotocols=[Subprotocol(PROTOCOL)],
            ping_interval=None,
            max_size=4 * MIB,
        )
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        await socket.recv()
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
        }
        await socket.send(json.dumps(subscribe))
        return cls(socket, expected)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.socket:
                found = SEQ.search(str(message))
                if found:
                    self.seqs.append(int(found.group(1)))
                    if len(self.seqs) >= self.expected:
                        self.all_in.set()

    async def close(self) -> None:
        await self.socket.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def slow_subscribers(scratch: Path, args: argparse.Namespace) -> SlowRun:
    """One socket reads everything; the first stuck one reads again as soon as the hub has
    cut a subscriber off (a slow reader); the others never read until the end (gone)."""
    result = SlowRun(args.slow_events, args.slow_kib, args.slow)
    if "KAI_SUBSCRIBER_BUFFER" in args.extra_env:
        result.buffer = f"{args.extra_env['KAI_SUBSCRIBER_BUFFER']} (--env)"
    result.hold_step = min(5.0, args.slow_hold)
    async with (
        kai_server(scratch, "kai-slow", args.extra_env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=90) as http,
    ):
        api = Api(http)
        agent_id = await setup(api)
        names = ("kai_websockets_open", "kai_subscriptions_active", "kai_events_dropped_total")

        async def gauges() -> tuple[float, float, float]:
            a, b, c = [await metric(http, server.url, name) for name in names]
            return a, b, c

        healthy = await HealthyReader.open(server, api.token, agent_id, args.slow_events)
        stuck = [
            await asyncio.to_thread(StuckSubscriber, server.port, api.token, agent_id)
            for _ in range(args.slow)
        ]
        stopped = time.monotonic()
        if (
            await wait_subscribed(
                lambda: metric(http, server.url, "kai_subscriptions_active"), 1 + args.slow, 30
            )
            < 1 + args.slow
        ):
            raise SystemExit("bench: the slow subscribers' subscriptions did not start")
        result.rss_start_kib = server.rss_kib()
        blob = "x" * (args.slow_kib * KIB)
        began = time.monotonic()
        sent = 0
        every = max(1, args.slow_events // 12)
        lock = asyncio.Lock()
        publishing = True
        resumed: asyncio.Task[tuple[int, int | None, str]] | None = None

        async def watch() -> None:
            """The slow reader reads again once the hub has dropped a message."""
            nonlocal resumed
            while publishing and resumed is None:
                if (await metric(http, server.url, "kai_events_dropped_total")) > 0:
                    result.resumed_after = time.monotonic() - stopped
                    result.resumed_at_event = sent
                    resumed = asyncio.create_task(asyncio.to_thread(stuck[0].read_all, 60))
                    return
                await asyncio.sleep(0.25)

        async def poster() -> None:
            nonlocal sent
            while True:
                async with lock:
                    if sent >= args.slow_events:
                        return
                    sent += 1
                    number = sent
                await command(api, agent_id, {"blob": blob, "n": number})
                if number % every == 0:
                    sockets, subscriptions, dropped = await gauges()
                    result.samples.append(
                        (number, server.rss_kib() / KIB, sockets, subscriptions, dropped)
                    )

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(poster() for _ in range(4)))
        publishing = False
        result.seconds = time.monotonic() - began
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(healthy.all_in.wait(), 60)
        result.healthy_got = len(healthy.seqs)
        result.healthy_in_order = healthy.seqs == list(range(3, 3 + args.slow_events))
        # The stuck sockets, not read for a while longer: does the server let them go?
        for _ in range(max(1, int(args.slow_hold // result.hold_step))):
            await asyncio.sleep(result.hold_step)
            result.held.append(await gauges())
        await watcher
        if resumed is not None:
            result.resumed = await resumed
        result.others = [await asyncio.to_thread(s.read_all, 10) for s in stuck[1:]]
        for s in stuck:
            s.close()
        await healthy.close()
        await asyncio.sleep(1)
        result.samples.append((-1, server.rss_kib() / KIB, *(await gauges())))
    return result


# -- the report ------------------------------------------------------------------------------


SAMPLES = Table(
    Column("events", "s", ">"),
    Column("RSS MiB", ".0f"),
    Column("sockets open", ".0f"),
    Column("subscriptions", ".0f"),
    Column("events dropped", ".0f"),
    indent="    ",
)


def print_slow(slow: SlowRun) -> None:
    print()
    print(
        f"slow subscribers: 1 socket reads everything; {slow.stuck} subscribe and stop reading "
        f"(4 KiB receive buffer): the first reads again once the hub has dropped a message (a "
        f"slow reader), the others only at the very end (gone); {slow.events} sendCommand "
        f"events of {slow.payload_kib} KiB ({slow.events * slow.payload_kib / 1024:.0f} MiB per "
        f"subscriber) in {slow.seconds:.0f} s; KAI_SUBSCRIBER_BUFFER {slow.buffer}, uvicorn's "
        "keepalive default (ping every 20 s, close 1011 if no pong within 20 s)"
    )
    print(f"  server RSS before: {slow.rss_start_kib / KIB:.0f} MiB")
    SAMPLES.header()
    for number, *figures in slow.samples:
        SAMPLES.row(f"{number:6d}" if number >= 0 else "end", *figures)
    print("    (end: after every socket was read to its close, and closed)")
    growth = slow_growth(slow)
    print(
        f"  RSS growth over the second half of the events: {growth:.1f} MiB "
        f"({'bounded' if growth < 32 else 'GROWING'}); the reading subscriber got "
        f"{slow.healthy_got}/{slow.events} events, "
        f"{'in order, none missing' if slow.healthy_in_order else 'NOT all in order'}"
    )
    got, code, reason = slow.resumed
    print(
        f"  the slow reader, reading again {slow.resumed_after:.0f} s after it stopped (event "
        f"{slow.resumed_at_event}): {got} events (already on their way), then close {code} "
        f"{reason!r}"
    )
    if slow.held:
        sockets, subscriptions, _ = slow.held[-1]
        after = slow.hold_step * len(slow.held)
        print(
            f"  {after:g} s after the last event, the gone ones still unread: the "
            f"server holds {sockets:.0f} sockets, {subscriptions:.0f} subscriptions"
        )
    for index, (got, code, reason) in enumerate(slow.others, 2):
        print(f"  gone socket {index}, read at last: {got} events, then close {code} {reason!r}")


def slow_growth(slow: SlowRun) -> float:
    during = [s[1] for s in slow.samples if s[0] >= slow.events // 2]
    return (max(during) - during[0]) if during else float("nan")
