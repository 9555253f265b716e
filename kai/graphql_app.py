"""Strawberry's ASGI view, with kAI's context and JSON-shaped HTTP errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from kai.context import Context, bearer_credential
from kai.errors import ErrorCode, KaiError
from kai.services.container import Services

log = logging.getLogger(__name__)

# Closes a socket whose credentials stopped working (logout, expiry, revoked key).
CLOSE_CREDENTIALS_REVOKED = 4403


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
    code = _error_code(status, reason)
    return JSONResponse(
        {"errors": [{"message": reason, "extensions": {"code": code.value}}]},
        status_code=status,
    )


class KaiGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: Any, *, services: Services):
        settings = services.settings
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=not settings.is_production,
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=10),
            allowed_origins=settings.allowed_origins,
        )
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        response: Response
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = http_error(exc.status_code, exc.reason)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        return Context.build(
            services=self.services,
            connection=request,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
        )

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
                    await self.services.authenticator.authenticate(context.credential or "")
                )
            except KaiError:
                with contextlib.suppress(Exception):
                    await websocket.close(
                        CLOSE_CREDENTIALS_REVOKED, "Credentials revoked or expired"
                    )
                return
            except Exception as exc:  # a database blip must not close healthy sockets
                log.warning("could not re-check a socket's credentials: %r", exc)
