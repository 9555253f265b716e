"""The one place where kAI overrides a private part of aiosqlite: `Connection.stop`, made
idempotent.

Why: SQLAlchemy closes a connection it had to invalidate (its task was cancelled while it
gave the connection back) in a shielded task that runs aiosqlite's `close()`. When the
caller is cancelled again before that close ends, SQLAlchemy also calls `stop()`, which
tells the connection's thread to close and end. `close()` then finishes by calling `stop()`
a second time and awaiting the future it returns: that second request is queued to a
thread that has already ended, so its future never resolves. The close task then waits
forever, and so does whatever waits for every task to end: asyncio.run's shutdown, uvicorn
leaving, pytest closing its event loop. Cancelling a task twice while it returns a
connection is all it takes (kai.aio.stop_tasks cancels until its tasks end; a client that
goes while the server shuts down does the same), so the hang was rare but real.

With this override, every `stop()` after the first returns the first one's future: the
thread ends once, and everyone waiting on it is told when it has.

aiosqlite is pinned to the minor version this was written against (pyproject), and
tests/test_library_seams.py fails when the source of either function below changes.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from aiosqlite.core import Connection

# What kAI overrides ("stop") and relies on calling it twice ("close"), as
# "module:Class.attribute".
SEAMS = (
    "aiosqlite.core:Connection.stop",
    "aiosqlite.core:Connection.close",
)

_FIRST_STOP = "_kai_first_stop"


def install() -> None:
    """Makes `aiosqlite.Connection.stop` idempotent; installing it twice changes nothing."""
    original = Connection.stop
    if getattr(original, "_kai_idempotent", False):
        return

    @functools.wraps(original)  # its __wrapped__ is what tests/test_library_seams.py reads
    def stop(self: Connection) -> asyncio.Future[Any] | None:
        state = vars(self)
        if _FIRST_STOP not in state:
            state[_FIRST_STOP] = original(self)
        first: asyncio.Future[Any] | None = state[_FIRST_STOP]
        return first

    stop._kai_idempotent = True  # type: ignore[attr-defined]
    Connection.stop = stop  # type: ignore[method-assign]
