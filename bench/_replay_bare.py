"""The baseline of bench/replay.py: a bare WebSocket endpoint that replays stored events.

Under the same uvicorn settings `kai serve` uses, on the same SQLite file: a socket that
sends `connection_init` gets `connection_ack`; a `subscribe` with `agentId` and `after`
among its variables gets every stored event of that agent with a seq after `after`, read
with one plain SELECT (sqlite3, in a thread), each sent as a graphql-transport-ws `next`
message shaped as kAI's answer to `agentEvents { seq agentId type data timestamp }`, then
`complete`. No authentication, no GraphQL, no hub: what replaying costs with none of kAI.

    python bench/_replay_bare.py PORT DATABASE_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

# The script's own directory comes first on sys.path: a module of bench/ named like
# one of the standard library (bench/http.py) would shadow it for every import below.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

DATABASE = ""
SELECT = (
    "SELECT seq, agent_id, type, data, timestamp FROM agent_event"
    " WHERE agent_id = ? AND seq > ? ORDER BY seq"
)


def _rows(agent_id: str, after: int) -> list[tuple[Any, ...]]:
    with sqlite3.connect(DATABASE) as connection:
        return connection.execute(SELECT, (agent_id, after)).fetchall()


def _timestamp(stored: str) -> str:
    # Stored as UTC without an offset; kAI's DateTime writes it with one.
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


async def graphql(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            kind = message.get("type")
            if kind == "connection_init":
                await websocket.send_text('{"type":"connection_ack"}')
            elif kind == "subscribe":
                variables = message["payload"].get("variables") or {}
                rows = await asyncio.to_thread(
                    _rows, variables["agentId"], int(variables.get("after") or 0)
                )
                for seq, agent_id, type_, data, timestamp in rows:
                    event = {
                        "seq": seq,
                        "agentId": agent_id,
                        "type": type_,
                        "data": json.loads(data),
                        "timestamp": _timestamp(timestamp),
                    }
                    next_message = {
                        "id": message["id"],
                        "type": "next",
                        "payload": {"data": {"agentEvents": event}},
                    }
                    await websocket.send_text(json.dumps(next_message, separators=(",", ":")))
                await websocket.send_text(json.dumps({"id": message["id"], "type": "complete"}))
            elif kind == "ping":
                await websocket.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[WebSocketRoute("/graphql", graphql), Route("/healthz", healthz)])


if __name__ == "__main__":
    DATABASE = sys.argv[2]
    # As kai.cli's serve sets them, where they matter here.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        log_level="warning",
        access_log=False,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,
    )
