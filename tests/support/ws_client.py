"""A small GraphQL-over-WebSocket client for tests: graphql-transport-ws and legacy graphql-ws.

Both protocols are driven through one interface; their messages are normalised
to `Message(type, id, payload)` with type `next` (legacy `data`), `error`
(payload always a list of errors), `complete` or a connection-level type.
Every wait is bounded, so a server that stops answering fails the test instead
of hanging it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)
TIMEOUT = 10.0


@dataclass(frozen=True)
class Message:
    type: str
    id: str | None
    payload: Any

    @property
    def errors(self) -> list[dict[str, Any]]:
        if self.type == "error":
            return list(self.payload)
        return list((self.payload or {}).get("errors") or [])

    @property
    def codes(self) -> list[str | None]:
        return [error.get("extensions", {}).get("code") for error in self.errors]


class SocketClosed(Exception):
    def __init__(self, code: int | None, reason: str):
        super().__init__(f"socket closed: {code} {reason}")
        self.code = code
        self.reason = reason


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class WSClient:
    def __init__(self, connection: ClientConnection, protocol: str):
        self.connection = connection
        self.protocol = protocol
        self._ids = itertools.count(1)
        self._pending: dict[str | None, deque[Message]] = defaultdict(deque)

    @property
    def legacy(self) -> bool:
        return self.protocol == LEGACY_WS

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def send_raw(self, data: str | bytes) -> None:
        await self.connection.send(data)

    async def init(self, payload: Any = None) -> Message:
        """connection_init; returns the server's answer (connection_ack or connection_error)."""
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.send(message)
        return await self.receive(None)

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, *, id: str | None = None
    ) -> str:
        op_id = id or str(next(self._ids))
        await self.send(
            {
                "id": op_id,
                "type": "start" if self.legacy else "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return op_id

    async def stop(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "stop" if self.legacy else "complete"})

    async def receive(self, op_id: str | None, timeout: float = TIMEOUT) -> Message:  # noqa: ASYNC109
        """The next message of operation `op_id` (None: connection-level messages)."""
        async with asyncio.timeout(timeout):
            while not self._pending[op_id]:
                message = await self._read()
                if message.type == "ka":  # the legacy protocol's keep-alive
                    continue
                self._pending[message.id].append(message)
        return self._pending[op_id].popleft()

    def put_back(self, message: Message) -> None:
        """Returns a received `message` to the front: receive() gives it again."""
        self._pending[message.id].appendleft(message)

    async def next(self, op_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:  # noqa: ASYNC109
        """The data of the next result of `op_id`; fails on anything else."""
        message = await self.receive(op_id, timeout)
        assert message.type == "next" and not message.errors, message
        data: dict[str, Any] = message.payload["data"]
        return data

    async def results(self, op_id: str, count: int, field: str) -> list[dict[str, Any]]:
        return [(await self.next(op_id))[field] for _ in range(count)]

    async def until_complete(self, op_id: str, timeout: float = TIMEOUT) -> list[Message]:  # noqa: ASYNC109
        """Every message of `op_id` up to and including its `complete` (or `error`)."""
        messages: list[Message] = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(op_id)
                messages.append(message)
                if message.type in ("complete", "error"):
                    return messages

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str]:  # noqa: ASYNC109
        """Reads (and drops) messages until the server closes; its close code and reason."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._read()
        except SocketClosed as exc:
            return exc.code, exc.reason

    async def alive(self) -> None:
        """Proves the connection still works: a ping, or (legacy, which has none) any answer."""
        if not self.legacy:
            await self.send({"type": "ping"})
            message = await self.receive(None)
            assert message.type == "pong", message
            return
        # Legacy graphql-ws runs subscriptions only: a query is refused, and that is an answer.
        op_id = await self.subscribe("query { __typename }")
        messages = await self.until_complete(op_id)
        assert messages[-1].type in ("error", "complete"), messages

    async def _read(self) -> Message:
        try:
            raw = await self.connection.recv()
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            raise SocketClosed(code, exc.rcvd.reason if exc.rcvd else "") from None
        body = json.loads(raw)
        kind = body.get("type", "")
        payload = body.get("payload")
        if kind == "data":
            kind = "next"
        if kind == "error" and isinstance(payload, dict):
            payload = [payload]
        return Message(kind, body.get("id"), payload)


@asynccontextmanager
async def ws_connect(
    base_url: str,
    protocol: str,
    *,
    token: str | None = None,
    init: bool = True,
    origin: str | None = None,
    **options: Any,
) -> AsyncIterator[WSClient]:
    """An open socket speaking `protocol`; with `token`, also initialised and acknowledged."""
    async with connect(
        ws_url(base_url),
        subprotocols=[Subprotocol(protocol)],
        origin=Origin(origin) if origin else None,
        open_timeout=TIMEOUT,
        close_timeout=2,
        ping_interval=None,
        **options,
    ) as connection:
        assert connection.subprotocol == protocol
        client = WSClient(connection, protocol)
        if init and token is not None:
            ack = await client.init(bearer(token))
            assert ack.type == "connection_ack", ack
        yield client
