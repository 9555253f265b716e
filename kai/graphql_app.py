"""Strawberry's ASGI view, with kAI's context and JSON-shaped HTTP errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from kai.context import Context
from kai.errors import ErrorCode
from kai.services.container import Services


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
