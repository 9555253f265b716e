"""graphql-transport-ws, the WebSocket protocol of graphql-ws (the library) and of Apollo
and urql today."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message as TransportMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from kai.context import Context
from kai.graphql.socket_rules import (
    SocketLifecycle,
    operation_extensions,
    too_many_operations,
    well_formed_subscribe,
)
from kai.graphql.strawberry_seams import TransportCloseReasons, with_operation_extensions


class TransportWSHandler(
    SocketLifecycle, TransportCloseReasons, BaseGraphQLTransportWSHandler[Context, None]
):
    """graphql-transport-ws: 4400 for any message it cannot read, a coded error past the cap."""

    async def handle_message(self, message: TransportMessage) -> None:
        raw: Any = message
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            await self.handle_invalid_message("Failed to parse message")
            return
        if raw["type"] == "subscribe" and not well_formed_subscribe(raw, persisted=True):
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
            error: Any = too_many_operations(limit)
            await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
            return
        self._new_operation()
        payload: Any = message["payload"]
        extensions = operation_extensions(payload)
        with_query: Any = {**message, "payload": {**payload, "query": payload.get("query")}}
        with with_operation_extensions(extensions):
            await super().handle_subscribe(with_query)

    async def send_message(self, message: TransportMessage) -> None:
        if self._closed_by_us():  # e.g. 4413 from a subscription: nothing more to say
            return
        await super().send_message(message)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            await self._end()
