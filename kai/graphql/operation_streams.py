"""The result streams of GraphQL operations that this process has opened and not yet closed.

An operation run over a socket or an event stream is a chain of async generators:
Strawberry's operation stream (the extensions' hooks run inside it), graphql-core's
map over the resolver, the resolver, kAI's event follower, a hub subscription. The
transport that started the chain owns it: whatever ends the operation (the client
completes or goes, a slow reader is cut off, credentials stop working, the server
shuts down), the owner closes the chain with `aclose()`, awaited, on the task that
ran it. A chain left to the garbage collector instead is finalised at an arbitrary
moment on an arbitrary task, keeps its hub subscription and database work alive
until then, and runs the extensions' clean-up where nobody can see it fail.

`OPEN` holds weak references only, so it never keeps a stream alive: a stream is
open while it is reachable and neither finished nor closed. /metrics shows the
count, and the test suite checks after each test that none is left.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator
from typing import Any

from prometheus_client import Gauge

OperationStream = AsyncGenerator[Any, None]


def is_open(stream: OperationStream) -> bool:
    """Started or not, but neither run to its end nor closed (its frame is gone then)."""
    return getattr(stream, "ag_frame", None) is not None


class OperationStreams:
    def __init__(self) -> None:
        self._streams: weakref.WeakSet[OperationStream] = weakref.WeakSet()
        self.opened = 0

    def add(self, stream: OperationStream) -> OperationStream:
        self._streams.add(stream)
        self.opened += 1
        return stream

    def still_open(self) -> list[OperationStream]:
        return [stream for stream in list(self._streams) if is_open(stream)]


OPEN = OperationStreams()

Gauge(
    "kai_operation_streams_open",
    "Result streams of GraphQL operations (subscriptions, and operations over a socket or "
    "an event stream) open now; each is closed by its transport when the operation ends.",
).set_function(lambda: len(OPEN.still_open()))
