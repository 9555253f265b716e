"""The GraphQL endpoint: Strawberry's ASGI view with kAI's context, JSON-shaped HTTP
errors, CSRF check, request timeout, WebSocket authentication and graphql-sse streams."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
)
from strawberry.types import ExecutionResult

from kai.context import Context, bearer_credential
from kai.errors import ErrorCode, KaiError
from kai.graphql.csrf import CSRF_REFUSAL, csrf_safe
from kai.graphql.extensions.persisted_documents import PersistedDocuments
from kai.graphql.http_errors import http_error
from kai.graphql.legacy_ws import LegacyWSHandler
from kai.graphql.media_negotiation import (
    CONTENT_TYPES,
    NOT_ACCEPTABLE,
    Media,
    NotARequestObject,
    allow_header,
    answer_media,
    is_request_error,
    refusal_status,
    request_error_status,
)
from kai.graphql.request_timeout import RequestTimedOut, timeout_response, within
from kai.graphql.shared_results import shared_message_text
from kai.graphql.socket_rules import CLOSE_CREDENTIALS_REVOKED, CLOSE_GOING_AWAY
from kai.graphql.sse import EventStreams
from kai.graphql.sse_negotiation import is_subscription
from kai.graphql.strawberry_seams import ConfiguredOrigins, StreamResponses
from kai.graphql.transport_ws import TransportWSHandler
from kai.security.credential_checks import CredentialChecks
from kai.services.shared import Services

log = logging.getLogger(__name__)


def _refused(
    status: int, reason: str, cause: BaseException | None, method: str, media: Media
) -> Response:
    """A request Strawberry (or Starlette) refused, in GraphQL's shape; over
    application/graphql-response+json with the status the spec gives (`refusal_status`)."""
    if media is Media.GRAPHQL_RESPONSE:
        status = refusal_status(status, cause, method)
    response = http_error(status, reason)
    response.headers.update(allow_header(response.status_code, cause))
    return response


def _labelled(response: Response, request: Request, media: Media | None) -> Response:
    """Every application/json answer of this view is a GraphQL response (a result, or a
    refusal in GraphQL's shape): over application/graphql-response+json it says so, with
    a request error's status. The GraphiQL page and event streams are left as they are."""
    response.headers.add_vary_header("Accept")  # the answer depends on it: one per Accept
    if media is not Media.GRAPHQL_RESPONSE:
        return response
    if response.headers.get("content-type") != CONTENT_TYPES[Media.JSON]:
        return response
    response.headers["content-type"] = CONTENT_TYPES[Media.GRAPHQL_RESPONSE]
    request_error = getattr(request.state, "request_error", None)
    if request_error is not None:
        status, headers = request_error
        response.status_code = status
        response.headers.update(headers)
    return response


def _names_a_document(request: Request) -> bool:
    params = request.query_params
    return "query" in params or "documentId" in params or "extensions" in params


class KaiGraphQL(ConfiguredOrigins, StreamResponses):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self,
        schema: Any,
        *,
        services: Services,
        ide_page: Callable[[], Response] | None = None,
        persisted: PersistedDocuments | None = None,
    ):
        """`ide_page`: the GraphiQL page a browser gets on GET /graphql (None: no IDE).
        `persisted`: the schema's persisted documents (what a streamed request names)."""
        settings = services.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if ide_page is not None else None,
            allow_queries_via_get=settings.get_queries_enabled,
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
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
        self.ide_page = ide_page
        self.persisted = persisted or PersistedDocuments()
        self.browser_origins = settings.browser_origins  # checked on each handshake
        # Open sockets, closed with 1001 when the server shuts down (weak: a socket
        # that ended without its handler's clean-up is not kept alive by this).
        self.sockets: weakref.WeakSet[WebSocket] = weakref.WeakSet()
        # Whose each signed-in socket is, for the per-user cap (Q1).
        self.socket_users: weakref.WeakKeyDictionary[WebSocket, str] = weakref.WeakKeyDictionary()
        self.credential_checks = CredentialChecks(
            services.authenticator, max_age=settings.ws_auth_check_seconds / 2
        )
        self.event_streams = EventStreams(
            auth_check_seconds=settings.ws_auth_check_seconds, checks=self.credential_checks
        )

    def encode_json(self, data: object) -> str | bytes:
        # A subscription event's shared result goes out as one text for all its subscribers
        # (kai.graphql.event_projection); everything else as Strawberry writes it.
        shared = shared_message_text(data)
        return shared if shared is not None else super().encode_json(data)

    async def close_sockets(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> int:
        """Close every open socket and SSE stream, so its client reconnects (to another
        replica)."""
        streams = self.event_streams.close_all()
        sockets = [s for s in self.sockets if s.application_state is WebSocketState.CONNECTED]
        for websocket in sockets:
            with contextlib.suppress(Exception):  # already gone: nothing to say
                await websocket.close(code, reason)
        return len(sockets) + streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        # Which JSON media type the answer is in (kai.graphql.media_negotiation).
        media = answer_media(
            request.method, request.headers.get("accept"), has_query=_names_a_document(request)
        )
        request.state.answer_media = media
        try:
            response = await self._respond(request, media)
            if response is not None:
                await _labelled(response, request, media)(scope, receive, send)
        finally:
            await request.close()  # an upload's spooled files, once every resolver is done

    async def _respond(self, request: Request, media: Media | None) -> Response | None:
        """The answer, or None for a client that went before its request was read (nobody
        to answer, nothing to log)."""
        if media is None:
            return http_error(406, NOT_ACCEPTABLE)
        if not csrf_safe(request):
            return http_error(400, CSRF_REFUSAL)
        try:
            return await self.run(request)
        except ClientDisconnect:
            return None
        except HTTPException as exc:
            return _refused(exc.status_code, exc.reason, exc.__cause__, request.method, media)
        except StarletteHTTPException as exc:  # a multipart body that Starlette cannot read
            return _refused(exc.status_code, exc.detail, exc, request.method, media)
        except RequestTimedOut as exc:
            return timeout_response(exc.seconds)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Over application/graphql-response+json, a request error (nothing ran) has no
        `data` and a 4xx or 5xx status; application/json keeps `"data": null` and 200."""
        response = await super().process_result(request, result)
        media = getattr(request.state, "answer_media", None)
        if media is Media.GRAPHQL_RESPONSE and is_request_error(result.data, result.errors):
            response.pop("data", None)
            request.state.request_error = request_error_status(response.get("errors") or [])
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        """kAI's own GraphiQL build (kai/console/graphiql.html), not Strawberry's page,
        which loads React and GraphiQL from a CDN and shows nothing offline."""
        assert self.ide_page is not None  # Strawberry asks only when graphql_ide is set
        return self.ide_page()

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
        if streaming and not await self._streams_a_subscription(request_data, context):
            # A query or mutation sent over SSE streams one result: bounded like any other.
            request.state.sse_deadline = self.services.settings.request_timeout_seconds
        operation = super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if streaming:
            return await operation  # its response owns the stream (_create_streaming_response)
        return await within(self.services.settings.request_timeout_seconds, operation, context)

    async def _streams_a_subscription(self, request_data: Any, context: Context) -> bool:
        """Whether a streamed request runs a subscription, its text sent or persisted."""
        if request_data.query is None:
            text = await self.persisted.text(context, request_data.extensions)
            request_data = dataclasses.replace(request_data, query=text)
        return is_subscription(request_data, self.services.settings.max_query_tokens)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's, and `documentId` (the GraphQL-over-HTTP persisted documents
        appendix; what @urql/core sends for a document node that carries one) as
        `extensions.documentId`."""
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            return data
        document_id: object = None
        if request.method == "GET":
            document_id = request.query_params.get("documentId")
        elif (request.content_type or "").startswith("application/json"):
            body = await request.get_body()  # read already: Starlette keeps it
            if b'"documentId"' in body:
                found = self.decode_json(body)
                document_id = found.get("documentId") if isinstance(found, dict) else None
        if document_id is not None:
            data.extensions = {**(data.extensions or {}), "documentId": document_id}
        return data

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET that names a persisted document instead of sending a query."""
        params = request.query_params
        named = "extensions" in params or "documentId" in params
        return not named and super().should_render_graphql_ide(request)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """A `map` that does not fit `operations` (a list for a map, a path that is not
        text or leads nowhere) is a 400 like a missing file, not a crash (500). An upload
        may name a persisted document: `documentId` in `operations`, as in a JSON body."""
        try:
            operations: Any = await super().parse_multipart(request)
        except (AttributeError, TypeError, ValueError, IndexError, RecursionError) as exc:
            raise HTTPException(400, "The multipart `map` does not fit `operations`.") from exc
        if isinstance(operations, dict) and "documentId" in operations:
            extensions = operations.get("extensions")
            extensions = extensions if isinstance(extensions, dict) else {}
            operations["extensions"] = {**extensions, "documentId": operations["documentId"]}
        return operations  # type: ignore[no-any-return]

    def decode_json(self, data: str | bytes) -> object:
        """JSON text or JSONDecodeError: a 400 over HTTP, 4400 on a socket. (JSON that
        parses to a bare value is NotARequestObject: 422 over
        application/graphql-response+json, a request that is not well-formed.)

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
        except RecursionError as exc:
            raise json.JSONDecodeError("unreadable JSON: nested too deeply", "", 0) from exc
        except UnicodeError as exc:
            reason = "unreadable JSON: not UTF-8 text, or an unpaired surrogate"
            raise json.JSONDecodeError(reason, "", 0) from exc
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise json.JSONDecodeError("unreadable JSON: a number too long", "", 0) from exc
        if not isinstance(value, dict | list):
            raise NotARequestObject("a GraphQL request is a JSON object", "", 0)
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
        self._within_socket_share(context.connection, principal.user_id)
        task = asyncio.create_task(self._watch_credentials(context))
        context.background.add(task)
        task.add_done_callback(context.background.discard)
        return None

    def _within_socket_share(self, websocket: Any, user_id: str) -> None:
        """One user holds at most KAI_QUOTA_SOCKETS_PER_USER open sockets on this server
        (Q1): each costs a task, buffers and a credential check every few seconds."""
        limit = self.services.settings.quota_sockets_per_user
        open_ones = sum(
            1
            for socket, owner in list(self.socket_users.items())
            if owner == user_id
            and socket is not websocket
            and socket.application_state is WebSocketState.CONNECTED
        )
        if open_ones >= limit:
            raise ConnectionRejectionError(
                {
                    "reason": f"at most {limit} open sockets per user; close one first",
                    "code": ErrorCode.QUOTA_EXCEEDED.value,
                }
            )
        self.socket_users[websocket] = user_id

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
