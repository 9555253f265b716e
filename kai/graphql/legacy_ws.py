"""Legacy graphql-ws (subscriptions-transport-ws), still spoken by older Apollo clients."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage,
    OperationMessage,
    StartMessage,
)

from kai.context import Context
from kai.graphql.socket_rules import (
    CLOSE_BAD_REQUEST,
    CLOSE_CREDENTIALS_REVOKED,
    CLOSE_INIT_TIMEOUT,
    CLOSE_TOO_MANY_INITS,
    SocketLifecycle,
    too_many_operations,
    well_formed_subscribe,
)
from kai.graphql.strawberry_seams import LegacyStreamOwnership

LEGACY_MESSAGE_TYPES = {"connection_init", "connection_terminate", "start", "stop"}


class LegacyWSHandler(SocketLifecycle, LegacyStreamOwnership, BaseGraphQLWSHandler[Context, None]):
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
        elif raw["type"] == "start" and not well_formed_subscribe(raw):
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
            error: Any = too_many_operations(limit)
            await self.send_message({"type": "error", "id": message["id"], "payload": error})
            return
        if self.connection_acknowledged:
            self._new_operation()
        await super().handle_start(message)

    async def send_message(self, message: OperationMessage) -> None:
        if self._closed_by_us():
            return
        await super().send_message(message)
