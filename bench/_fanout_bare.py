"""The baseline of bench/fanout.py: a bare Starlette broadcast under the same uvicorn.

The same ASGI stack `kai serve` runs on (uvicorn, its default WebSocket
implementation, permessage-deflate off as KAI_WS_COMPRESSION's default has it, the
same 1 MiB message cap), with none of kAI on top: a socket that sends
`connection_init` gets `connection_ack`, one that sends `subscribe` is added to the
audience, and `POST /publish` sends its body, as it is, to every socket of the
audience, one after the other. No authentication, no GraphQL, no hub.

    python bench/_fanout_bare.py PORT

`GET /count` answers how many sockets are subscribed; `GET /healthz` answers 200.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The script's own directory comes first on sys.path: a module of bench/ named like
# one of the standard library (bench/http.py) would shadow it for every import below.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import json

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

audience: set[WebSocket] = set()


async def graphql(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            kind = message.get("type")
            if kind == "connection_init":
                await websocket.send_text('{"type":"connection_ack"}')
            elif kind == "subscribe":
                audience.add(websocket)
            elif kind == "ping":
                await websocket.send_text('{"type":"pong"}')
            elif kind == "complete":
                audience.discard(websocket)
    except WebSocketDisconnect:
        pass
    finally:
        audience.discard(websocket)


async def publish(request: Request) -> PlainTextResponse:
    text = (await request.body()).decode()
    sent = 0
    for websocket in list(audience):
        try:
            await websocket.send_text(text)
            sent += 1
        except Exception:  # noqa: S112 (a socket that went away: the rest still get it)
            continue
    return PlainTextResponse(str(sent))


async def count(_: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(audience)))


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        WebSocketRoute("/graphql", graphql),
        Route("/publish", publish, methods=["POST"]),
        Route("/count", count),
        Route("/healthz", healthz),
    ]
)


if __name__ == "__main__":
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
