"""Strawberry's ASGI view, with kAI's context and JSON-shaped HTTP errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import SSETransport
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message as TransportMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
    StartMessage,
)
from strawberry.types.execution import PreExecutionError

from kai.context import Context, bearer_credential
from kai.errors import ErrorCode, KaiError
from kai.graphql.sse import EventStreams
from kai.graphql.sse_negotiation import prefers_event_stream
from kai.security.credential_checks import CredentialChecks
from kai.services.container import Services

log = logging.getLogger(__name__)

# A server shutting down closes its sockets with this (RFC 6455 "going away").
CLOSE_GOING_AWAY = 1001
# Closes a socket whose credentials stopped working (logout, expiry, revoked key).
CLOSE_CREDENTIALS_REVOKED = 4403
# The close codes graphql-transport-ws defines, used for legacy graphql-ws too (W2).
CLOSE_BAD_REQUEST = 4400
CLOSE_INIT_TIMEOUT = 4408
CLOSE_TOO_MANY_INITS = 4429
LEGACY_MESSAGE_TYPES = {"connection_init", "connection_terminate", "start", "stop"}


def _error_code(status: int, reason: str) -> ErrorCode:
    if status == 413:
        return ErrorCode.PAYLOAD_TOO_LARGE
    if status == 415:
        return ErrorCode.UNSUPPORTED_MEDIA_TYPE
    if status == 404:
        return ErrorCode.NOT_FOUND
    if "JSON" in reason:
        return ErrorCode.GRAPHQL_PARSE_FAILED
    return ErrorCode.BAD_USER_INPUT


def http_error(status: int, reason: str) -> JSONResponse:
    """A refused HTTP request still answers in GraphQL's shape, with a code."""
    if reason == "Unsupported content type":
        status, reason = 415, "Send application/json, or multipart/form-data for uploads."
    if reason == "Batching is not enabled":  # a body that is an array of operations (G4)
        reason = BATCHING_REFUSAL
    code = _error_code(status, reason)
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": code.value}}]},
        status_code=status,
    )


BATCHING_REFUSAL = (
    "Batched requests (an array of operations) are not accepted: send one operation per request."
)
# How long the audit rows of a timed-out request may take to be written.
AUDIT_FLUSH_GRACE_SECONDS = 5.0


class RequestTimedOut(Exception):
    """Running an HTTP query or mutation took longer than KAI_REQUEST_TIMEOUT_SECONDS (G5)."""

    def __init__(self, seconds: float):
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


def timeout_response(seconds: float) -> JSONResponse:
    """503, in GraphQL's shape: nothing of the operation's answer is sent, the failure is the
    server's and temporary, and proxies, monitoring and clients recognise a 503 as such."""
    message = (
        f"The request did not finish within {seconds:g} s and was cancelled; "
        "retry later, or ask for less."
    )
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": ErrorCode.SERVICE_UNAVAILABLE}}]},
        status_code=503,
    )


# Headers a browser cannot send cross-site without a CORS preflight (G9).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "x-kai-csrf")
CSRF_REFUSAL = (
    "Multipart requests need an Authorization header or one of these headers: "
    + ", ".join(PREFLIGHT_HEADERS)
    + " (CSRF protection)."
)


def _csrf_safe(request: Request) -> bool:
    """A multipart POST is a "simple" request a hostile page can make a browser send
    with the user's ambient credentials; one with a bearer token or a non-simple
    header cannot be forged that way (G9)."""
    if request.method != "POST":
        return True
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return True
    headers = request.headers
    return bool(headers.get("authorization")) or any(name in headers for name in PREFLIGHT_HEADERS)


def _too_many_operations(limit: int) -> dict[str, Any]:
    """A subscribe past the per-connection cap (W4): an error of that operation only."""
    return {
        "message": f"At most {limit} operations may run on one connection; complete one first.",
        "extensions": {"code": ErrorCode.RATE_LIMITED.value, "retryAfter": 1},
    }


def _well_formed_subscribe(message: dict[str, Any]) -> bool:
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables") or {}, dict)
        and isinstance(payload.get("operationName") or "", str)
    )


def _is_subscription(
    request_data: GraphQLRequestData | list[GraphQLRequestData], max_tokens: int
) -> bool:
    """Whether a streamed request is a subscription (unbounded by the request timeout).
    A document that does not parse, or is over the token limit (G3: not worth parsing
    whole here), is not: Strawberry answers it with its error."""
    if isinstance(request_data, list) or not isinstance(request_data.query, str):
        return False
    try:
        document = parse(request_data.query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, request_data.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class _SocketLifecycle:
    """What both protocols' handlers share: the Context's socket and its end."""

    context: Context

    def _closed_by_us(self) -> bool:
        websocket = self.context.connection
        return (
            isinstance(websocket, WebSocket)
            and websocket.application_state is WebSocketState.DISCONNECTED
        )

    def _new_operation(self) -> None:
        """Each operation on a socket starts as a request would: its credential checked as
        it is now, so a logout counts at once for new work (S7, W3), and loaders of its
        own, so nothing cached by an earlier operation is served stale."""
        self.context.forget_principal()
        self.context.renew_loaders()

    async def _end(self) -> None:
        """Stops what lives as long as the socket (its credential watch), and waits for it."""
        tasks = list(self.context.background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


class TransportWSHandler(_SocketLifecycle, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: 4400 for any message it cannot read, a coded error past the cap."""

    async def handle_message(self, message: TransportMessage) -> None:
        raw: Any = message
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            await self.handle_invalid_message("Failed to parse message")
            return
        if raw["type"] == "subscribe" and not _well_formed_subscribe(raw):
            await self.handle_invalid_message("Failed to parse message")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and limit is not None
            and len(self.operations) >= limit
        ):
            error: Any = _too_many_operations(limit)
            await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
            return
        self._new_operation()
        await super().handle_subscribe(message)

    async def send_message(self, message: TransportMessage) -> None:
        if self._closed_by_us():  # e.g. 4413 from a subscription: nothing more to say
            return
        await super().send_message(message)

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        # Strawberry closes the socket (4400) on a syntax error; a document over the token
        # limit is one too, but it is that operation's refusal, like depth and aliases (W4).
        if (error.extensions or {}).get("code") == ErrorCode.QUERY_TOO_COMPLEX:
            return None
        return BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            await self._end()


class LegacyWSHandler(_SocketLifecycle, BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws, held to the same rules as graphql-transport-ws (W2, W4).

    No connection_init in time: 4408; a second one: 4429; refused credentials:
    connection_error, then 4403. A message it cannot use is answered with an
    error (connection_error when it has no id) and the connection carries on, as
    the protocol's reference server does.
    """

    init_received = False

    async def handle(self) -> None:
        timer = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            timer.cancel()
            await asyncio.wait([timer])
            await self._end()

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.init_received:
            with contextlib.suppress(Exception):
                await self.websocket.close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

    async def handle_message(self, message: OperationMessage) -> None:
        raw: Any = message
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            await self._refuse(None, "Failed to parse message")
            return
        op_id = raw.get("id")
        if raw["type"] not in LEGACY_MESSAGE_TYPES:
            await self._refuse(op_id, f"Unknown message type: {raw['type']}")
        elif raw["type"] == "start" and not _well_formed_subscribe(raw):
            await self._refuse(op_id, "A start message needs an id and a payload with a query")
        elif raw["type"] == "stop" and not isinstance(op_id, str):
            await self._refuse(op_id, "A stop message needs an id")
        else:
            await super().handle_message(message)

    async def _refuse(self, op_id: object, reason: str) -> None:
        if isinstance(op_id, str):
            await self.send_message({"type": "error", "id": op_id, "payload": {"message": reason}})
        else:
            await self.send_message({"type": "connection_error", "payload": {"message": reason}})

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.init_received:
            await self.websocket.close(CLOSE_TOO_MANY_INITS, "Too many initialisation requests")
            return
        self.init_received = True
        payload: Any = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            reason = "Invalid connection init payload"
            await self.send_message({"type": "connection_error", "payload": {"message": reason}})
            await self.websocket.close(CLOSE_BAD_REQUEST, reason)
            return
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as exc:
            await self.send_message({"type": "connection_error", "payload": exc.payload})
            await self.websocket.close(CLOSE_CREDENTIALS_REVOKED, "Forbidden")
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.tasks
            and limit is not None
            and len(self.tasks) >= limit
        ):
            error: Any = _too_many_operations(limit)
            await self.send_message({"type": "error", "id": message["id"], "payload": error})
            return
        if self.connection_acknowledged:
            self._new_operation()
        await super().handle_start(message)

    async def send_message(self, message: OperationMessage) -> None:
        if self._closed_by_us():
            return
        await super().send_message(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        """Strawberry's, but the operation's stream is closed by this task on every way out.

        Strawberry's left it open after a refused document (a validation error returns
        from inside the loop) and after a failed send, and `stop` closed it from the
        socket's task while this one was still running it.
        """
        try:
            stream = await self.schema.subscribe(
                query=query,
                variable_values=variables,
                operation_name=operation_name,
                context_value=self.context,
                root_value=self.root_value,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors
                        error: Any = result.errors[0].formatted
                        await self.send_message(
                            {"type": "error", "id": operation_id, "payload": error}
                        )
                        return
                    await self.send_data_message(result, operation_id)
                    first = False
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            # Stopped (by `stop`, or the socket closing): the client is told, if still there.
            with contextlib.suppress(Exception):
                await self.send_message({"type": "complete", "id": operation_id})
        except WebSocketDisconnected:
            pass  # the client went while it was being sent a result
        except Exception:  # the task's outcome is read by nobody: say it here
            log.exception("graphql-ws operation %s failed", operation_id)
        finally:
            self.tasks.pop(operation_id, None)

    async def cleanup_operation(self, operation_id: str) -> None:
        """Stops the operation's task and waits for it to close its stream itself."""
        task = self.tasks.pop(operation_id, None)
        if task is not None:
            task.cancel()
            await asyncio.wait([task])


class KaiGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: Any, *, services: Services):
        settings = services.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=settings.get_queries_enabled,
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            # graphql-sse in distinct connections mode: POST /graphql with
            # Accept: text/event-stream, for clients that WebSockets cannot reach.
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                GRAPHQL_WS_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
            ),
        )
        self.services = services
        # Open sockets, closed with 1001 when the server shuts down (weak: a socket
        # that ended without its handler's clean-up is not kept alive by this).
        self.sockets: weakref.WeakSet[WebSocket] = weakref.WeakSet()
        self.credential_checks = CredentialChecks(
            services.authenticator, max_age=settings.ws_auth_check_seconds / 2
        )
        self.event_streams = EventStreams(
            auth_check_seconds=settings.ws_auth_check_seconds, checks=self.credential_checks
        )

    async def close_sockets(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> int:
        """Close every open socket and SSE stream, so its client reconnects (to another
        replica)."""
        streams = self.event_streams.close_all()
        sockets = [s for s in self.sockets if s.application_state is WebSocketState.CONNECTED]
        for websocket in sockets:
            with contextlib.suppress(Exception):  # already gone: nothing to say
                await websocket.close(code, reason)
        return len(sockets) + streams

    def _get_stream_transport_from_headers(self, headers: Any) -> Any:
        """Strawberry streams whenever Accept mentions text/event-stream; kAI only when the
        client prefers the stream to JSON (content negotiation: urql asks for both)."""
        accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        if not prefers_event_stream(accept):
            return None
        return super()._get_stream_transport_from_headers(headers)

    async def _create_streaming_response(
        self,
        request: Request,
        result: Any,
        protocol: Any,
        sub_response: Response,
    ) -> Response:
        """kAI's graphql-sse response replaces Strawberry's, which left the operation's
        stream to the garbage collector when its client went (kai.graphql.sse)."""
        transport = self._get_stream_transport(protocol)
        if not isinstance(transport, SSETransport):  # only graphql-sse is enabled
            await result.aclose()
            raise HTTPException(400, f"Streaming over {protocol} is not supported.")

        async def encode(value: Any) -> str:
            response = await self.process_result(request, value)
            return transport.encode_next(response, self.encode_json_string)

        context = getattr(request.state, "kai_context", None)
        return self.event_streams.response(
            stream=result,
            encode=encode,
            transport=transport,
            context=context if isinstance(context, Context) else None,
            deadline=getattr(request.state, "sse_deadline", None),
            status_code=sub_response.status_code or 200,
            headers={**sub_response.headers, **transport.headers},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        response: Response
        if not _csrf_safe(request):
            response = http_error(400, CSRF_REFUSAL)
            await response(scope, receive, send)
            return
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = http_error(exc.status_code, exc.reason)
        except StarletteHTTPException as exc:  # e.g. a multipart body that does not parse
            response = http_error(exc.status_code, exc.detail)
        except RequestTimedOut as exc:
            response = timeout_response(exc.seconds)
        await response(scope, receive, send)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """Runs an HTTP query or mutation within KAI_REQUEST_TIMEOUT_SECONDS (G5).

        The body has been read by now, so a slow upload does not count; a subscription
        over HTTP (a stream) is not bounded here. Past the limit the operation's task is
        cancelled where it waits (a database query, an agent's answer), and the client
        gets a 503 instead of a socket that hangs.
        """
        streaming = not isinstance(request_data, list) and request_data.protocol != "http"
        max_tokens = self.services.settings.max_query_tokens
        if streaming and not _is_subscription(request_data, max_tokens):
            # A query or mutation sent over SSE streams one result: bounded like any other.
            request.state.sse_deadline = self.services.settings.request_timeout_seconds
        operation = super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if streaming:
            return await operation  # its response owns the stream (_create_streaming_response)
        seconds = self.services.settings.request_timeout_seconds
        try:
            async with asyncio.timeout(seconds):
                return await operation
        except TimeoutError:
            log.warning(
                "request %s timed out after %g s and was cancelled", context.request_id, seconds
            )
            # FlushAudit did not get to write the permission checks of the cancelled work.
            with contextlib.suppress(Exception):  # the auditor logs what it could not write
                async with asyncio.timeout(AUDIT_FLUSH_GRACE_SECONDS):
                    await context.auditor.flush()
            raise RequestTimedOut(seconds) from None

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """A `map` that does not fit `operations` (a list for a map, a path that is not
        text or leads nowhere) is a 400 like a missing file, not a crash (500)."""
        try:
            return await super().parse_multipart(request)
        except (AttributeError, TypeError, ValueError, IndexError, RecursionError) as exc:
            raise HTTPException(400, "The multipart `map` does not fit `operations`.") from exc

    def decode_json(self, data: str | bytes) -> object:
        """JSON text or JSONDecodeError: a 400 over HTTP, 4400 on a socket.

        json.loads alone let through what later crashed (a 500, or an
        INTERNAL_SERVER_ERROR): bytes that are not UTF-8, nesting past the recursion
        limit, integers past Python's 4300 digits, a bare value for a body, and
        unpaired surrogates ("\\ud800"), which are not text: no database, hash or
        response can encode them.
        """
        try:
            value = json.loads(data)
            json.dumps(value, ensure_ascii=False).encode()
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            raise json.JSONDecodeError(f"unreadable JSON ({type(exc).__name__})", "", 0) from exc
        if not isinstance(value, dict | list):
            raise json.JSONDecodeError("a GraphQL request is a JSON object", "", 0)
        return value

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        if isinstance(request, WebSocket):
            self.sockets.add(request)
        context = Context.build(
            services=self.services,
            connection=request,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
        )
        if not isinstance(request, WebSocket):
            request.state.kai_context = context  # an SSE response's watchers need it
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate the connection_init payload: {"authorization": "Bearer ..."} (W2)."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("authorization") or params.get("Authorization")
        credential = bearer_credential(header) if isinstance(header, str) else None
        if not credential:
            raise ConnectionRejectionError({"reason": "authorization required"})
        context.credential = credential
        try:
            principal = await context.optional_principal()
        except KaiError as exc:
            raise ConnectionRejectionError({"reason": "invalid credentials"}) from exc
        assert principal is not None
        task = asyncio.create_task(self._watch_credentials(context))
        context.background.add(task)
        task.add_done_callback(context.background.discard)
        return None

    async def _watch_credentials(self, context: Context) -> None:
        """Close the socket once its session or key stops working (S7, W3)."""
        websocket = context.connection
        assert isinstance(websocket, WebSocket)
        interval = self.services.settings.ws_auth_check_seconds
        while True:
            await asyncio.sleep(interval)
            if websocket.application_state is WebSocketState.DISCONNECTED:
                return
            try:
                # Also refreshes the role a later subscribe is checked against (S10).
                context.refresh_principal(
                    await self.credential_checks.check(context.credential or "")
                )
            except KaiError:
                with contextlib.suppress(Exception):
                    await websocket.close(
                        CLOSE_CREDENTIALS_REVOKED, "Credentials revoked or expired"
                    )
                return
            except Exception as exc:  # a database blip must not close healthy sockets
                log.warning("could not re-check a socket's credentials: %r", exc)
