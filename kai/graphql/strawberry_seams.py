"""Every place where kAI overrides or reads a private part of Strawberry, in one module.

Strawberry is pinned to the minor version these were written against (pyproject), and
tests/test_library_seams.py fails when the library's side of any of them changes:
each entry of SEAMS names the library function and a digest of its source, so that an
upgrade shows which override to reread.

The public subclasses (the view, the two WebSocket handlers, the schema) derive from
the classes here and use only documented hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSchema
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import SSETransport
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionContext, PreExecutionError

from kai.context import Context
from kai.errors import ErrorCode
from kai.graphql.extension_runner import KaiExtensionsRunner
from kai.graphql.sse import EventStreams
from kai.graphql.sse_negotiation import prefers_event_stream
from kai.origins import BrowserOrigins

log = logging.getLogger(__name__)

# What kAI overrides or calls that Strawberry does not document, as "module:Class.attribute".
SEAMS = (
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler._get_pre_execution_close_reason",
    "strawberry.subscriptions.protocols.graphql_ws.handlers"
    ":BaseGraphQLWSHandler.handle_async_results",
    "strawberry.subscriptions.protocols.graphql_ws.handlers:BaseGraphQLWSHandler.cleanup_operation",
    "strawberry.http.base:BaseView._get_stream_transport_from_headers",
    "strawberry.http.base:BaseView._get_stream_transport",
    "strawberry.http.async_base_view:AsyncBaseHTTPView._create_streaming_response",
    "strawberry.schema.schema:Schema.__init__",  # where it sets `_schema`
    "strawberry.schema.base:BaseSchema.remove_field_suggestion",
    "strawberry.schema.base:BaseSchema._process_errors",  # what calls it
    # operation_name falls back to the first operation's; the name the request gave is
    # kept in `_provided_operation_name`, set here.
    "strawberry.types.execution:ExecutionContext.__post_init__",
    "strawberry.types.execution:ExecutionContext.operation_name",
    # Strawberry lets a handshake through when Origin matches Host; kAI never trusts Host.
    "strawberry.http.async_base_view:AsyncBaseHTTPView._check_websocket_origin",
    # graphql-transport-ws runs each operation in a task that handle_subscribe creates, and
    # calls schema.stream without the subscribe payload's `extensions`: they reach the
    # schema through `with_operation_extensions` (the task copies the context).
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler.handle_subscribe",
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers"
    ":BaseGraphQLTransportWSHandler.run_operation",
)

# The `extensions` of the socket operation being started (see SEAMS above).
_SOCKET_OPERATION_EXTENSIONS: contextvars.ContextVar[dict[str, Any] | None] = (
    contextvars.ContextVar("socket_operation_extensions", default=None)
)


@contextlib.contextmanager
def with_operation_extensions(extensions: dict[str, Any] | None) -> Iterator[None]:
    """The operation started in this block runs with `extensions` as its
    operation_extensions (persisted documents over graphql-transport-ws)."""
    token = _SOCKET_OPERATION_EXTENSIONS.set(extensions)
    try:
        yield
    finally:
        _SOCKET_OPERATION_EXTENSIONS.reset(token)


def socket_operation_extensions() -> dict[str, Any] | None:
    """The `extensions` given to `with_operation_extensions` where this operation started."""
    return _SOCKET_OPERATION_EXTENSIONS.get()


class TransportCloseReasons(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: which refusals close the whole socket."""

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        # Strawberry closes the socket (4400) on a syntax error; a document over the token
        # limit is one too, but it is that operation's refusal, like depth and aliases (W4).
        if (error.extensions or {}).get("code") == ErrorCode.QUERY_TOO_COMPLEX:
            return None
        return BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)


class LegacyStreamOwnership(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: each operation's task owns its stream, and closes it."""

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


class ConfiguredOrigins(GraphQL[Context, None]):
    """The WebSocket handshake's Origin is checked against the pages the settings allow
    (`kai.origins.BrowserOrigins`, the same list CORS answers), never against the Host
    header that the client chose (H1): with DNS rebinding, a hostile page's Origin and
    Host agree. (Strawberry took an Origin equal to Host as same-origin.)"""

    browser_origins: BrowserOrigins

    def _check_websocket_origin(self, request: Any) -> bool:
        origin = self.get_websocket_headers(request).get("origin")
        if origin is None:
            return True  # not a browser: it carries no one's ambient credentials
        if self.browser_origins.allows(origin):
            return True
        log.warning("refused a WebSocket handshake from origin %r", origin)
        return False


class StreamResponses(GraphQL[Context, None]):
    """The graphql-sse side of the view: when to stream, and who owns the stream."""

    event_streams: EventStreams

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


class SchemaSeams(strawberry.Schema):
    """The schema: graphql-core's schema object, which error messages lose their hints, and
    the extension runner."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return KaiExtensionsRunner(execution_context=execution_context, extensions=extensions)

    @property
    def graphql_core_schema(self) -> GraphQLSchema:
        """The graphql-core schema Strawberry built (its private `_schema`)."""
        return self._schema

    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        # Strawberry strips only "Cannot query field ... Did you mean"; unknown
        # arguments, types and input fields carry suggestions too (G7).
        if "Did you mean" in error.message:
            error.message = error.message.split("Did you mean")[0].strip()


def requested_operation_name(context: ExecutionContext) -> str | None:
    """The operationName the request sent (Strawberry's `operation_name` falls back to the
    document's first operation, which hides a request that named none)."""
    name: str | None = context._provided_operation_name
    return name
