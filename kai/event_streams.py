"""graphql-sse responses held to the rules a WebSocket is held to.

A subscription over Server-Sent Events is one long HTTP response. Left alone it
would outlive what ends a socket: a logout or revoked key (S7, W3), a server
shutting down (its clients should reconnect to another replica), and, for a
query or mutation sent over SSE, the request timeout (G5). `EventStreams` wraps
each such response and ends it for those reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.http.streaming import SSETransport

from kai.context import Context
from kai.errors import ErrorCode, KaiError
from kai.observability import metrics
from kai.security.credential_checks import CredentialChecks

log = logging.getLogger(__name__)

TextStream = Callable[[], AsyncIterator[str]]


@dataclass(frozen=True)
class StreamEnd:
    """Why a stream is ended early; `error`, if any, is sent to the client first."""

    error: dict[str, Any] | None


def error_events(error: dict[str, Any]) -> str:
    """A `next` carrying the error, then `complete`: the client's operation is over."""
    transport = SSETransport()
    payload = json.dumps({"data": None, "errors": [error]}, separators=(",", ":"))
    return transport.encode_event("next", payload) + transport.encode_complete()


class EventStreams:
    """The open graphql-sse responses of this process."""

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

    def guard(
        self, stream: TextStream, *, context: Context, deadline: float | None, result: Any = None
    ) -> TextStream:
        """`result`: the operation's result stream, closed here once the response ends."""

        async def guarded() -> AsyncGenerator[str, None]:
            items = aiter(stream())
            end = asyncio.ensure_future(self._until_end(context, deadline))
            self.open += 1
            metrics.EVENT_STREAMS.inc()
            try:
                while True:
                    step = asyncio.ensure_future(anext(items))
                    await asyncio.wait({step, end}, return_when=asyncio.FIRST_COMPLETED)
                    if step.done():
                        try:
                            item = step.result()
                        except StopAsyncIteration:
                            return
                        yield item
                        continue
                    step.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await step
                    reason = end.result()
                    if reason.error is not None:
                        yield error_events(reason.error)
                    return
            finally:
                self.open -= 1
                metrics.EVENT_STREAMS.dec()
                end.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await end
                with contextlib.suppress(Exception):
                    await items.aclose()  # type: ignore[attr-defined]
                if hasattr(result, "aclose"):
                    with contextlib.suppress(Exception):
                        await result.aclose()

        return guarded

    async def _until_end(self, context: Context, deadline: float | None) -> StreamEnd:
        watchers = [asyncio.ensure_future(self._shutdown())]
        if deadline is not None:
            watchers.append(asyncio.ensure_future(self._deadline(deadline)))
        if context.credential:
            watchers.append(asyncio.ensure_future(self._credentials(context)))
        try:
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
            return done.pop().result()
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _shutdown(self) -> StreamEnd:
        await self.closing.wait()
        return StreamEnd(error=None)

    @staticmethod
    async def _deadline(seconds: float) -> StreamEnd:
        await asyncio.sleep(seconds)
        message = (
            f"The request did not finish within {seconds:g} s and was cancelled; "
            "retry later, or ask for less."
        )
        return StreamEnd(
            error={"message": message, "extensions": {"code": ErrorCode.SERVICE_UNAVAILABLE.value}}
        )

    async def _credentials(self, context: Context) -> StreamEnd:
        """Ends the stream once its session or key stops working (S7, W3)."""
        while True:
            await asyncio.sleep(self.auth_check_seconds)
            try:
                await self.checks.check(context.credential or "")
            except KaiError as exc:
                return StreamEnd(
                    error={"message": exc.message, "extensions": {"code": exc.code.value}}
                )
            except Exception as exc:  # a database blip must not end healthy streams
                log.warning("could not re-check a stream's credentials: %r", exc)


# What a client may list to get one JSON answer rather than a stream.
JSON_MEDIA_TYPES = frozenset({"application/graphql-response+json", "application/json"})
EVENT_STREAM = "text/event-stream"


def prefers_event_stream(accept: str) -> bool:
    """Whether `accept` ranks text/event-stream above every JSON type (by q, then by
    order of listing). urql lists JSON first and text/event-stream after it on every
    query and mutation: it must get JSON; a graphql-sse client lists only the stream."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media not in JSON_MEDIA_TYPES and media != EVENT_STREAM:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        key = (-quality, position, media)
        if best is None or key < best:
            best = key
    return best is not None and best[2] == EVENT_STREAM
