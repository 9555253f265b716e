"""A small graphql-transport-ws client on `websockets`: one socket, many operations."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncGenerator
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
# The server closes a socket with this code when it refuses its credentials.
CLOSE_FORBIDDEN = 4403
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Api(Protocol):
    """What a remote agent sends its answers through: the socket, or a stand-in in tests."""

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]: ...


class RemoteAgentError(Exception):
    """The server answered with an error; `code` is its extensions.code."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class Refused(RemoteAgentError):
    """The server will not take this process: wrong key, unknown agent, not a remote agent."""


class ConnectionLost(Exception):
    """The socket closed while an operation waited on it."""


def graphql_ws_url(url: str) -> str:
    """ws(s)://host/graphql from an http(s):// or ws(s):// base or endpoint URL."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not an http(s):// or ws(s):// URL: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def error_of(errors: Any) -> RemoteAgentError:
    first = errors[0] if isinstance(errors, list) and errors else {}
    if not isinstance(first, dict):
        return RemoteAgentError(str(first))
    code = (first.get("extensions") or {}).get("code")
    return RemoteAgentError(str(first.get("message") or "request failed"), code)


class _Operation:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()


class Socket:
    """An acknowledged graphql-transport-ws connection."""

    def __init__(self, websocket: ClientConnection):
        self._websocket = websocket
        self._operations: dict[str, _Operation] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read())
        self.close_code: int | None = None

    @classmethod
    async def open(cls, url: str, *, token: str, open_timeout: float = 10.0) -> Socket:
        websocket = await connect(
            graphql_ws_url(url),
            subprotocols=[PROTOCOL],
            open_timeout=open_timeout,
            max_size=MAX_MESSAGE_BYTES,
        )
        try:
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            await websocket.send(json.dumps(init))
            async with asyncio.timeout(open_timeout):
                while True:
                    message = json.loads(await websocket.recv())
                    if message.get("type") == "connection_ack":
                        break
                    if message.get("type") == "ping":
                        await websocket.send(json.dumps({"type": "pong"}))
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == CLOSE_FORBIDDEN:
                raise Refused("The server refused the API key.", "UNAUTHENTICATED") from None
            raise
        except BaseException:
            await websocket.close()
            raise
        return cls(websocket)

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._reader)

    async def close(self) -> None:
        await self._websocket.close()
        with contextlib.suppress(Exception):
            await self._reader

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A query or mutation over the socket: its data, or RemoteAgentError."""
        data: dict[str, Any] = {}
        async with contextlib.aclosing(self.subscribe(query, variables)) as payloads:
            async for payload in payloads:
                if payload.get("errors"):
                    raise error_of(payload["errors"])
                data = payload.get("data") or {}
        return data

    async def subscribe(
        self, query: str, variables: dict[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The `next` payloads of an operation until it completes; `error` raises."""
        if self.closed:
            raise ConnectionLost()
        operation_id = str(next(self._ids))
        operation = self._operations[operation_id] = _Operation()
        completed = False
        try:
            await self._send(
                {
                    "id": operation_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                }
            )
            while True:
                message = await operation.messages.get()
                if message is None:
                    raise ConnectionLost()
                kind = message.get("type")
                if kind == "next":
                    yield message.get("payload") or {}
                elif kind == "error":
                    completed = True
                    raise error_of(message.get("payload"))
                elif kind == "complete":
                    completed = True
                    return
        finally:
            self._operations.pop(operation_id, None)
            if not completed and not self.closed:
                with contextlib.suppress(Exception):
                    await self._send({"id": operation_id, "type": "complete"})

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await self._websocket.send(json.dumps(message))
        except ConnectionClosed:
            raise ConnectionLost() from None

    async def _read(self) -> None:
        try:
            async for raw in self._websocket:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    continue
                if message.get("type") == "ping":
                    await self._websocket.send(json.dumps({"type": "pong"}))
                    continue
                operation = self._operations.get(str(message.get("id")))
                if operation is not None:
                    operation.messages.put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._websocket.close_code
            for operation in self._operations.values():
                operation.messages.put_nowait(None)
