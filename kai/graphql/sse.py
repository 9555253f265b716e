"""graphql-sse responses: one operation's results as Server-Sent Events, held to the rules a
WebSocket is held to, and owning the operation's stream.

A subscription over Server-Sent Events is one long HTTP response. It ends when the
operation completes, and also when its client goes, when its credentials stop working
(S7, W3), when the server shuts down (without `complete`: the client reconnects to another
replica and resumes with `after`), and, for a query or mutation sent over SSE, at the
request timeout (G5).

Whatever ends it, the operation's stream is closed by the one task that ran it (the
pump), which the response cancels and awaits: nothing of the operation is left for the
garbage collector (see kai.graphql.operation_streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.http.streaming import SSETransport

from kai.context import Context
from kai.errors import ErrorCode, KaiError
from kai.graphql.operation_streams import OperationStream
from kai.observability import metrics
from kai.security.credential_checks import CredentialChecks

log = logging.getLogger(__name__)

# Turns one of the operation's results into the text of an SSE `next` event.
Encoder = Callable[[Any], Awaitable[str]]


@dataclass(frozen=True)
class StreamEnd:
    """Why a stream ended. `tail` is what the client is sent last (nothing if it is gone)."""

    why: str
    tail: str = ""


def error_events(error: dict[str, Any]) -> str:
    """A `next` carrying the error, then `complete`: the client's operation is over."""
    transport = SSETransport()
    payload = json.dumps({"data": None, "errors": [error]}, separators=(",", ":"))
    return transport.encode_event("next", payload) + transport.encode_complete()


def _error_end(why: str, message: str, code: ErrorCode) -> StreamEnd:
    return StreamEnd(why, error_events({"message": message, "extensions": {"code": code.value}}))


DISCONNECTED = StreamEnd("disconnected")
# No `complete`: the client reconnects (elsewhere) and resumes, as after a 1001.
SHUTDOWN = StreamEnd("shutdown")


class EventStreams:
    """The open graphql-sse responses of this process, and what ends them early."""

    def __init__(self, *, auth_check_seconds: float, checks: CredentialChecks):
        self.auth_check_seconds = auth_check_seconds
        self.checks = checks
        self._closing: asyncio.Event | None = None
        self.open = 0

    @property
    def closing(self) -> asyncio.Event:
        if self._closing is None:  # created in the server's event loop, on first use
            self._closing = asyncio.Event()
        return self._closing

    def close_all(self) -> int:
        """End every open stream without `complete`, so each client reconnects (and
        resumes with `after`) elsewhere: what 1001 does for a WebSocket."""
        self.closing.set()
        return self.open

    def response(
        self,
        *,
        stream: OperationStream,
        encode: Encoder,
        transport: SSETransport,
        context: Context | None,
        deadline: float | None,
        status_code: int,
        headers: Mapping[str, str],
    ) -> EventStreamResponse:
        ends: list[Callable[[], Coroutine[Any, Any, StreamEnd]]] = [self._shutdown]
        if deadline is not None:
            ends.append(lambda: self._deadline(deadline))
        if context is not None and context.credential:
            ends.append(lambda: self._credentials(context))
        return EventStreamResponse(
            streams=self,
            stream=stream,
            encode=encode,
            transport=transport,
            ends=ends,
            status_code=status_code,
            headers=headers,
        )

    async def _shutdown(self) -> StreamEnd:
        await self.closing.wait()
        return SHUTDOWN

    @staticmethod
    async def _deadline(seconds: float) -> StreamEnd:
        await asyncio.sleep(seconds)
        message = (
            f"The request did not finish within {seconds:g} s and was cancelled; "
            "retry later, or ask for less."
        )
        return _error_end("timeout", message, ErrorCode.SERVICE_UNAVAILABLE)

    async def _credentials(self, context: Context) -> StreamEnd:
        """Ends the stream once its session or key stops working (S7, W3)."""
        while True:
            await asyncio.sleep(self.auth_check_seconds)
            try:
                await self.checks.check(context.credential or "")
            except KaiError as exc:
                return _error_end("credentials", exc.message, exc.code)
            except Exception as exc:  # a database blip must not end healthy streams
                log.warning("could not re-check a stream's credentials: %r", exc)


class EventStreamResponse(Response):
    """Relays an operation's results as SSE events until the first reason to end.

    Three kinds of task share the response: the request's own, which waits for the
    first of them to finish and then stops the others; the pump, which runs the
    operation's stream, sends each result and closes the stream (on every way out,
    cancellation included); and watchers, one per reason to end early, plus the
    heartbeat. Sends are serialised by a lock (the pump's and the heartbeat's).
    """

    def __init__(
        self,
        *,
        streams: EventStreams,
        stream: OperationStream,
        encode: Encoder,
        transport: SSETransport,
        ends: list[Callable[[], Coroutine[Any, Any, StreamEnd]]],
        status_code: int,
        headers: Mapping[str, str],
    ):
        self.status_code = status_code
        self.background = None
        self.init_headers(headers)
        self._streams = streams
        self._stream = stream
        self._encode = encode
        self._transport = transport
        self._ends = ends
        self._sending = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._streams.open += 1
        metrics.EVENT_STREAMS.inc()
        try:
            await self._relay(receive, send)
        finally:
            self._streams.open -= 1
            metrics.EVENT_STREAMS.dec()

    async def _relay(self, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
        except BaseException:
            await self._stream.aclose()  # never started: closing it runs nothing
            raise
        pump = asyncio.create_task(self._pump(send))
        watchers = [
            asyncio.create_task(_until_disconnected(receive)),
            asyncio.create_task(self._heartbeat(send)),
            *(asyncio.create_task(end()) for end in self._ends),
        ]
        tasks = [pump, *watchers]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _stop(tasks)
        end = _first_end(pump, watchers)
        if end is DISCONNECTED:
            return
        with contextlib.suppress(OSError):  # the client went meanwhile: nothing to tell it
            if end.tail:
                await send(_body(end.tail))
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump(self, send: Send) -> StreamEnd:
        """Runs and closes the operation's stream: the one task that touches it."""
        async with aclosing(self._stream):
            async for result in self._stream:
                text = await self._encode(result)
                async with self._sending:
                    await send(_body(text))
        return StreamEnd("complete", self._transport.encode_complete())

    async def _heartbeat(self, send: Send) -> StreamEnd:
        """A comment now and then keeps proxies from closing an idle stream."""
        message = self._transport.heartbeat_message(json.dumps)
        while True:
            await asyncio.sleep(self._transport.heartbeat_interval)
            async with self._sending:
                await send(_body(message))


def _body(text: str) -> dict[str, Any]:
    return {"type": "http.response.body", "body": text.encode(), "more_body": True}


async def _until_disconnected(receive: Receive) -> StreamEnd:
    while (await receive())["type"] != "http.disconnect":
        pass
    return DISCONNECTED


async def _stop(tasks: list[asyncio.Task[StreamEnd]]) -> None:
    """Cancels `tasks` and waits until each has finished its clean-up on its own task.

    asyncio.wait, unlike gather, does not cancel them again if this waiter is itself
    cancelled (the server's hard stop): the pump still closes its stream in one go.
    """
    for task in tasks:
        task.cancel()
        task.add_done_callback(_retrieve)
    await asyncio.wait(tasks)


def _retrieve(task: asyncio.Task[StreamEnd]) -> None:
    """Marks a finished task's outcome as seen, so asyncio never reports it as lost."""
    if not task.cancelled():
        task.exception()


def _first_end(pump: asyncio.Task[StreamEnd], watchers: list[asyncio.Task[StreamEnd]]) -> StreamEnd:
    """The reason that came first: the pump's outcome, else the watcher that finished."""
    if not pump.cancelled():
        error = pump.exception()
        if error is None:
            return pump.result()
        if isinstance(error, OSError):  # a send failed: the client is gone
            return DISCONNECTED
        log.error("an event stream's operation failed", exc_info=error)
        return _error_end("failed", "Internal server error.", ErrorCode.INTERNAL_SERVER_ERROR)
    for watcher in watchers:
        if watcher.cancelled():
            continue
        error = watcher.exception()
        if error is None:
            return watcher.result()
        if not isinstance(error, OSError):  # a heartbeat that could not be sent: gone
            log.error("an event stream's watcher failed", exc_info=error)
    return DISCONNECTED
