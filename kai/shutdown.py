"""`kai serve`'s graceful stop: on SIGTERM, take no new connections, send WebSocket
clients elsewhere (close 1001, "going away"), let in-flight requests finish within
KAI_SHUTDOWN_GRACE_SECONDS, then run the app's own shutdown."""

from __future__ import annotations

import logging
import socket

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, app: Starlette):
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first: a client told to reconnect must not land here again.
        for server in self.servers:
            server.close()
        view = getattr(self._app.state, "graphql", None)
        if view is not None:
            closed = await view.close_sockets(reason="server shutting down")
            if closed:
                log.info(
                    "closed %d WebSockets (1001) and event streams for their clients to reconnect",
                    closed,
                )
        # uvicorn's own: waits for in-flight requests (up to the grace), then the lifespan.
        await super().shutdown(sockets)
