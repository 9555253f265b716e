"""Pure ASGI middleware: request ids, the body caps (G2, F1), and CORS (H2)."""

from __future__ import annotations

import json
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kai.errors import ErrorCode
from kai.logs import request_id_var
from kai.origins import BrowserOrigins

REQUEST_ID_HEADER = "x-request-id"


class RequestIdMiddleware:
    """Every request gets an id: in its log lines, its audit rows and the response header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


# Room for the multipart framing and the `operations` and `map` fields around a file.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over the cap with 413, before and while they are read (G2, F1).

    A declared Content-Length over the cap is refused without reading; a chunked or
    understated body is cut off as soon as it passes the cap. Multipart uploads
    have their own, larger cap: the upload limit plus room for the framing.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int):
        self.app = app
        self.max_bytes = max_bytes
        self.max_multipart_bytes = max_upload_bytes + MULTIPART_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.max_bytes
        if headers.get("content-type", "").lower().startswith("multipart/"):
            # The exact cap on the file itself is checked as it is read; this one
            # stops a body that cannot be under it without reading all of it (F1).
            limit = self.max_multipart_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "errors": [
                {
                    "message": f"Request body over the {limit}-byte limit.",
                    "extensions": {"code": ErrorCode.PAYLOAD_TOO_LARGE.value},
                }
            ]
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# What a page on another origin may send and read (H2). The headers are those kAI reads:
# credentials, the body's type and wanted answer, and graphql-sse's reconnection (plus
# the CSRF proofs of an upload, G9, which the app passes in).
CORS_METHODS = ("GET", "HEAD", "POST")
CORS_HEADERS = ("accept", "authorization", "content-type", "last-event-id")
CORS_EXPOSED = ("x-request-id", "retry-after", "content-disposition")
CORS_MAX_AGE = 600


def is_cors_path(path: str) -> bool:
    """The API's paths: /graphql (HTTP and graphql-sse) and the signed downloads."""
    return path == "/graphql" or path.startswith("/files/")


class _ConfiguredCors(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: BrowserOrigins, headers: tuple[str, ...]):
        super().__init__(
            app,
            allow_methods=CORS_METHODS,
            allow_headers=(*CORS_HEADERS, *headers),
            expose_headers=CORS_EXPOSED,
            max_age=CORS_MAX_AGE,
            # kAI uses bearer tokens, never cookies: no request needs ambient credentials.
            allow_credentials=False,
        )
        self.origins = origins

    def is_allowed_origin(self, origin: str) -> bool:
        return self.origins.allows(origin)


class CorsMiddleware:
    """CORS with Starlette's own middleware, for the API's paths and the origins the
    settings allow (kai.origins: the same list the WebSocket handshake is checked
    against). A request from any other origin is served exactly as without CORS: no
    CORS header at all (a preflight gets what it got before, 405), so the browser
    keeps the answer from the page (H2)."""

    def __init__(self, app: ASGIApp, *, origins: BrowserOrigins, headers: tuple[str, ...] = ()):
        """`headers`: request headers a page may send besides CORS_HEADERS."""
        self.app = app
        self.cors = _ConfiguredCors(app, origins, headers)
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_cors_path(scope["path"]):
            origin = Headers(scope=scope).get("origin")
            if origin is not None and self.origins.allows(origin):
                await self.cors(scope, receive, send)
                return
        await self.app(scope, receive, send)
