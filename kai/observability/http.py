"""Counts HTTP responses by route and status, and open WebSockets, for /metrics."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kai.observability import metrics

# Routes by their template, so ids in paths never become label values.
_ROUTES = {"/graphql": "/graphql", "/healthz": "/healthz", "/readyz": "/readyz"}


def route_of(path: str) -> str:
    if path in _ROUTES:
        return _ROUTES[path]
    if path == "/metrics":
        return "/metrics"
    if path.startswith("/files/"):
        return "/files/{id}"
    return "other"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            metrics.WEBSOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                metrics.WEBSOCKETS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(scope["path"])

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics.HTTP_RESPONSES.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
