"""Real servers for tests: an app under uvicorn in this event loop, or `kai serve` processes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from kai.shutdown import GracefulServer

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_app(
    app: Any, *, ws_max_size: int = 1024 * 1024, port: int | None = None, graceful: bool = False
) -> AsyncIterator[str]:
    """Run `app` under uvicorn on a loopback port (a free one by default); yields its base URL.

    The app's lifespan runs too, so pass an app that has not been started. `graceful`: stop
    as `kai serve` does on SIGTERM (sockets closed 1001, event streams ended first).
    """
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", ws_max_size=ws_max_size
    )
    server = GracefulServer(config, app=app) if graceful else uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=15)
        if not done:
            stuck = [awaiting(t) for t in server.server_state.tasks]
            stuck += others_in_kai(server.server_state.tasks) + sqlite_transactions()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise AssertionError(
                "uvicorn did not stop within 15 s; its request tasks still running:\n"
                + "\n\n".join(stuck)
            )
        task.result()


def others_in_kai(shown: Any) -> list[str]:
    """Every other task of the loop that waits somewhere in kAI's code: what a stalled
    request may be waiting for."""
    chains = [awaiting(t) for t in asyncio.all_tasks() if t not in shown and not t.done()]
    return ["(another task) " + chain for chain in chains if "/kai/" in chain]


def sqlite_transactions() -> list[str]:
    """SQLite connections of this process inside a transaction: who holds the write lock
    that a stalled writer may be waiting for."""
    import aiosqlite

    found = []
    wrapped = {id(c._connection) for c in gc.get_objects() if type(c) is aiosqlite.Connection}
    for candidate in gc.get_objects():
        if type(candidate) is sqlite3.Connection and id(candidate) not in wrapped:
            try:
                state = "in a transaction" if candidate.in_transaction else "idle"
            except Exception as exc:  # a diagnostic: say what it could not read
                state = repr(exc)
            found.append(f"(sqlite) a bare {candidate!r}, {state}")
        if type(candidate) is aiosqlite.Connection:  # not isinstance: gc holds dead proxies
            raw = getattr(candidate, "_connection", None)
            try:
                open_transaction = raw is not None and raw.in_transaction
            except Exception as exc:  # a diagnostic: say what it could not read
                found.append(f"(sqlite) {candidate!r}: {exc!r}")
                continue
            thread = candidate._thread
            frame = sys._current_frames().get(thread.ident or -1)
            where = "".join(traceback.format_stack(frame)[-3:]) if frame is not None else ""
            while frame is not None and frame.f_code.co_name != "_connection_worker_thread":
                frame = frame.f_back
            if frame is not None:  # what the thread was given to run
                where += f"  running {frame.f_locals.get('function')!r}"[:600] + "\n"
            state = "in a transaction" if open_transaction else "not in a transaction"
            found.append(f"(sqlite) {candidate!r} {state}, {thread}, at:\n{where}")
    return found


def awaiting(task: asyncio.Task[Any], *, depth: int = 0) -> str:
    """Where `task` waits: its coroutine and each one it awaits, innermost last, through
    async generators and into the tasks it waits for (asyncio's own stack of a suspended
    task stops at its outermost frame)."""
    indent = "  " * depth
    lines = [indent + repr(task)]
    awaited: Any = task.get_coro()
    seen = 0
    while awaited is not None and seen < 200:
        seen += 1
        frame = next(
            (
                getattr(awaited, a)
                for a in ("cr_frame", "gi_frame", "ag_frame")
                if getattr(awaited, a, None) is not None
            ),
            None,
        )
        if frame is not None:
            code = frame.f_code
            lines.append(f"{indent}  {code.co_filename}:{frame.f_lineno} {code.co_name}")
            awaited = next(
                (
                    getattr(awaited, a)
                    for a in ("cr_await", "gi_yieldfrom", "ag_await")
                    if getattr(awaited, a, None) is not None
                ),
                None,
            )
            continue
        if isinstance(awaited, asyncio.Task) and depth < 3:
            lines.append(awaiting(awaited, depth=depth + 1))
            break
        # An async generator's `asend`/`athrow`, or a future's iterator: what it holds.
        inner = [
            r
            for r in gc.get_referents(awaited)
            if isinstance(r, asyncio.Future) or hasattr(r, "ag_frame") or hasattr(r, "cr_frame")
        ]
        if not inner:
            lines.append(f"{indent}  awaiting {awaited!r}")
            break
        awaited = inner[0]
    return "\n".join(lines)


@contextmanager
def kai_serve(
    env: dict[str, str], *, port: int | None = None, read_output: bool = False
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`kai serve` as a real process with `env`; yields (base URL, process).

    Its output (logs, one access line per request) goes to a pipe. A pipe nobody reads
    holds 64 KiB, then the server's next log line blocks its event loop: a module's worth
    of CLI commands reached that, and the server stopped answering. So the output is
    read and dropped here, once the server is up, unless the caller reads it
    (`read_output`: from `process.stdout`, as it comes or at the end)."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kai.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        if not read_output:
            threading.Thread(
                target=_drop, args=(process,), name="kai serve output", daemon=True
            ).start()
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drop(process: subprocess.Popen[str]) -> None:
    """Reads the process's output until it ends (EOF once the process has stopped)."""
    if process.stdout is not None:
        for _line in process.stdout:
            pass


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.communicate(timeout=5)[0] if process.poll() is not None else ""
            raise RuntimeError(f"kai serve did not start:\n{output}")
        time.sleep(0.1)


# Tests call a served kAI often, as one user from one address: budgets and quotas far
# above the defaults (as tests/support/settings.py make_settings), unless a test sets its own.
TEST_BUDGETS = {
    f"KAI_RATE_LIMIT_{family}_PER_MINUTE": "10000"
    for family in ("QUERY", "MUTATION", "SUBSCRIBE", "UPLOAD", "AGENT", "ANONYMOUS")
} | {
    f"KAI_QUOTA_{quota}_PER_USER": "100000"
    for quota in ("AGENTS", "QUEUED_TASKS", "RUNNING_TASKS", "SOCKETS")
}


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without the caller's KAI_* settings, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}
    return env | TEST_BUDGETS | overrides
