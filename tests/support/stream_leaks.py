"""Fails the test that leaves an async generator, a task's outcome or a coroutine to the
garbage collector, instead of whichever test happens to be running when it collects.

kAI closes every operation's stream explicitly (kai.graphql.operation_streams). A stream,
or any async generator under it, that is dropped unfinished is finalised by the collector
at an arbitrary moment, on an arbitrary task: its clean-up fails where nobody looks (an
unraisable exception in some later test), and until then it holds its hub subscription
and database work. So after each test:

- the garbage is collected, and no operation stream may still be open;
- no async generator may have reached asyncio's finalizer hook (dropped unfinished), nor
  been left open when the test's event loop shut down;
- asyncio must have logged no error ("Task exception was never retrieved", "Task was
  destroyed but it is pending").

Unawaited coroutines are errors through pyproject's filterwarnings. A failure names where
the leaked generator started (the stack of its first iteration, or of an operation
stream's creation), recorded by asyncio's first-iteration hook: tracemalloc would name it
too, but made the suite run twice as slowly.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import traceback
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kai.graphql.operation_streams import OPEN

# Enough frames to reach kAI's or the test's own code from inside Strawberry and asyncio.
TRACEBACK_FRAMES = 30
UNWATCHED_PACKAGES = ("httpx", "httpcore")
# Where each async generator started, and each operation stream was made (weak keys).
_origins: weakref.WeakKeyDictionary[Any, traceback.StackSummary] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Leak:
    what: str
    how: str
    where: str


_leaks: list[Leak] = []
# Each open stream is blamed once, on the test that left it open.
_reported: weakref.WeakSet[Any] = weakref.WeakSet()


def _remember_origin(obj: object) -> None:
    if obj not in _origins:
        stack = traceback.walk_stack(sys._getframe(2))
        _origins[obj] = traceback.StackSummary.extract(
            stack, limit=TRACEBACK_FRAMES, lookup_lines=False
        )


def _created_at(obj: object) -> str:
    """The recorded stack, innermost first; frames of kAI and the tests only, if any."""
    summary = _origins.get(obj)
    if summary is None:
        return "    (no record of where it started)"
    ours = [
        f for f in summary if "site-packages" not in f.filename and "/asyncio/" not in f.filename
    ]
    frames = ours or list(summary)
    return "\n".join(
        f"    {f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames
    )


def _describe(agen: Any) -> str:
    return f"{getattr(agen, '__qualname__', type(agen).__name__)} ({agen!r})"


_firstiter_hook = asyncio.BaseEventLoop._asyncgen_firstiter_hook  # type: ignore[attr-defined]
_finalizer_hook = asyncio.BaseEventLoop._asyncgen_finalizer_hook  # type: ignore[attr-defined]
_add_stream = OPEN.add
_shutdown_asyncgens = asyncio.BaseEventLoop.shutdown_asyncgens


def _first_iteration(self: asyncio.BaseEventLoop, agen: Any) -> None:
    _remember_origin(agen)
    _firstiter_hook(self, agen)


def _stream_made(stream: Any) -> Any:
    _remember_origin(stream)
    return _add_stream(stream)


def _watched(agen: Any) -> bool:
    """httpx reads a response through a chain of generators that it never closes when a
    stream is left part-read (closing the response is its clean-up): not kAI's to fix."""
    filename = agen.ag_code.co_filename
    return not any(f"/{package}/" in filename for package in UNWATCHED_PACKAGES)


def _finalized(self: asyncio.BaseEventLoop, agen: Any) -> None:
    if not _watched(agen):
        _finalizer_hook(self, agen)
        return
    how = "dropped unfinished: the collector closes it"
    _leaks.append(Leak(_describe(agen), how, _created_at(agen)))
    _finalizer_hook(self, agen)


async def _shutdown(self: asyncio.BaseEventLoop) -> None:
    agens: weakref.WeakSet[Any] = getattr(self, "_asyncgens", weakref.WeakSet())
    for agen in list(agens):
        if agen.ag_frame is not None and _watched(agen):
            _leaks.append(
                Leak(_describe(agen), "still open when the event loop shut down", _created_at(agen))
            )
    await _shutdown_asyncgens(self)


class _AsyncioErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    asyncio.BaseEventLoop._asyncgen_firstiter_hook = _first_iteration  # type: ignore[attr-defined]
    asyncio.BaseEventLoop._asyncgen_finalizer_hook = _finalized  # type: ignore[attr-defined]
    asyncio.BaseEventLoop.shutdown_asyncgens = _shutdown  # type: ignore[method-assign]
    OPEN.add = _stream_made  # type: ignore[method-assign]


def pytest_collection_finish(session: pytest.Session) -> None:
    # What importing and collecting made lives as long as the session: out of the
    # collector's sight, each test's full collection below walks only what tests made
    # (0.28 s a test otherwise).
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def nothing_left_to_the_collector() -> Iterator[None]:
    errors = _AsyncioErrors()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(errors)
    del _leaks[:]
    try:
        yield
        gc.collect()
        problems = [
            Leak(_describe(stream), "operation stream never closed", _created_at(stream))
            for stream in OPEN.still_open()
            if stream not in _reported
        ]
        _reported.update(OPEN.still_open())
        problems += _leaks
    finally:
        asyncio_log.removeHandler(errors)
    report = [f"{leak.what}: {leak.how}; created at\n{leak.where}" for leak in problems]
    report += [f"asyncio logged: {record.getMessage()}" for record in errors.records]
    if report:
        pytest.fail("Left to the garbage collector:\n" + "\n\n".join(report), pytrace=False)
