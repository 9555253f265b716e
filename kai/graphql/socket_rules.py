"""What both WebSocket protocols' handlers share: close codes, the per-connection cap, the
shape of a subscribe, and the socket's lifecycle (its Context, its end)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from kai.context import Context
from kai.errors import ErrorCode

# A server shutting down closes its sockets with this (RFC 6455 "going away").
CLOSE_GOING_AWAY = 1001
# Closes a socket whose credentials stopped working (logout, expiry, revoked key).
CLOSE_CREDENTIALS_REVOKED = 4403
# The close codes graphql-transport-ws defines, used for legacy graphql-ws too (W2).
CLOSE_BAD_REQUEST = 4400
CLOSE_INIT_TIMEOUT = 4408
CLOSE_TOO_MANY_INITS = 4429


def too_many_operations(limit: int) -> dict[str, Any]:
    """A subscribe past the per-connection cap (W4): an error of that operation only."""
    return {
        "message": f"At most {limit} operations may run on one connection; complete one first.",
        "extensions": {"code": ErrorCode.RATE_LIMITED.value, "retryAfter": 1},
    }


def well_formed_subscribe(message: dict[str, Any], *, persisted: bool = False) -> bool:
    """`persisted`: the payload may name a persisted document (`extensions.persistedQuery`,
    `documentId`) instead of carrying its text."""
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return False
    named = persisted and (payload.get("extensions") is not None or "documentId" in payload)
    return (
        isinstance(message.get("id"), str)
        and (isinstance(payload.get("query"), str) or (named and payload.get("query") is None))
        and isinstance(payload.get("variables") or {}, dict)
        and isinstance(payload.get("operationName") or "", str)
        and isinstance(payload.get("extensions") or {}, dict)
    )


def operation_extensions(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A subscribe payload's `extensions`, with its `documentId` (as over HTTP)."""
    extensions = dict(payload.get("extensions") or {})
    if "documentId" in payload:
        extensions["documentId"] = payload["documentId"]
    return extensions or None


class SocketLifecycle:
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
