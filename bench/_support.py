"""What the benches in bench/ share: options, processes, /proc, tables.

- options: every bench takes `--quick`, the smallest run that still goes through each
  of its code paths (CI runs it: tests/test_bench_quick.py); `parse` applies a bench's
  quick settings where the command line does not name them;
- processes: `kai serve`, `kai worker`, the baselines, redis-server, each on a free
  port with its output in a log file, up once it answers (or logs) that it is ready,
  stopped with SIGTERM (then SIGKILL) at the end; a fresh PostgreSQL database;
- /proc: a process's RSS (now, and its peak during a request) and CPU time, the
  machine's busy time;
- reports: the machine line, tables whose columns are as wide as their titles, and the
  problems a quick run must not have (it exits 1 when there are any).

GraphQL calls as a user, and seeding users and agents, are bench/_seed.py's.

Run a bench as `uv run python bench/<name>.py` from the checkout: its first lines put
the checkout, not bench/, first on sys.path (bench/http.py is named like the standard
library's `http`), so the benches import this module as `bench._support`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "correct horse battery staple"
KIB = 1024
MIB = 1 << 20
START_SECONDS = 90.0  # the longest a server may take to answer /healthz
STOP_SECONDS = 30.0  # the longest a process may take to stop after SIGTERM


# -- options --------------------------------------------------------------------------------


def parser(doc: str | None, prog: str) -> argparse.ArgumentParser:
    """A bench's options: its docstring as the description, and `--quick`."""
    made = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument(
        "--quick",
        action="store_true",
        help="the smallest run that goes through every code path (what CI runs); no "
        "figure of it means anything, and it exits 1 if a run fails or an answer is wrong",
    )
    return made


def parse(made: argparse.ArgumentParser, quick: dict[str, Any]) -> argparse.Namespace:
    """The options; with --quick, `quick` replaces the defaults (options given still win)."""
    shown = [
        f"--{name.replace('_', '-')} {value}"
        for name, values in quick.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    made.epilog = (
        "--quick sets: " + ", ".join(shown)
        if shown
        else "--quick changes nothing: the run is quick already"
    )
    args = made.parse_args()
    if args.quick:
        made.set_defaults(**quick)
        args = made.parse_args()
    return args


def fail(message: str) -> NoReturn:
    raise SystemExit(f"bench: {message}")


def exit_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C: servers stopped, temp directories removed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


STARTED = time.monotonic()


def progress(message: str) -> None:
    """A line on stderr: where the bench is, and how long it has run."""
    print(f"... {message} ({time.monotonic() - STARTED:.1f} s)", file=sys.stderr, flush=True)


def finish(problems: Sequence[str]) -> None:
    """Exits 1, naming them, if a run had problems (wrong answers, lost events)."""
    if problems:
        print("PROBLEMS:", flush=True)
        for problem in problems:
            print(f"  {problem}", flush=True)
        sys.exit(1)


# -- /proc ----------------------------------------------------------------------------------


def require_proc() -> None:
    if not Path("/proc/self/stat").exists():
        fail("reads the servers' memory and CPU time from /proc (Linux only)")


def status_kib(pid: int, field: str = "VmRSS") -> int:
    """A field of /proc/<pid>/status in KiB: VmRSS (resident now), VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy, all cores."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """The server's RSS just before a request and its peak during it, in KiB.

    The peak is sampled every `every` seconds in a thread; where the kernel allows
    it, the high-water mark (VmHWM) is also reset first (`5` to clear_refs) and read
    after, which catches a peak between two samples.
    """

    def __init__(self, pid: int, every: float = 0.005):
        self.pid = pid
        self.every = every
        self.before = self.peak = 0
        self._hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self.before = self.peak = status_kib(self.pid, "VmRSS")
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError, RuntimeError):
                self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))
        if self._hwm_reset:
            self.peak = max(self.peak, status_kib(self.pid, "VmHWM"))

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024


def raise_open_files(needed: int) -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; children (server, clients) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        fail(
            f"needs {needed} open files per process, the hard limit is {hard} "
            "(raise it: ulimit -Hn, or LimitNOFILE)"
        )
    return wanted


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This process's environment without its KAI_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}


def kai_env(scratch: Path, *, database_url: str | None = None, **settings: str) -> dict[str, str]:
    """Settings for kAI processes: data in `scratch` (SQLite unless `database_url`), the
    bench's JWT secret, WARNING logs; then the bench's own `settings`."""
    return (
        clean_env()
        | {
            "KAI_DATA_DIR": str(scratch / "data"),
            "KAI_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{scratch / 'kai.db'}",
            "KAI_JWT_SECRET": SECRET,
            "KAI_LOG_LEVEL": "WARNING",
        }
        | settings
    )


def kai(*args: str) -> list[str]:
    """The command line of `kai <args>`, with this interpreter."""
    return [sys.executable, "-m", "kai.cli", *args]


def pinned(cpu: int | None, command: list[str]) -> list[str]:
    """`command` on one CPU (taskset), if asked and possible."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return command
    return [taskset, "-c", str(cpu), *command]


class Process:
    """A process of the bench's, its output (stdout and stderr) appended to `log`."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.argv = argv
        self.log = log
        with log.open("ab") as output:
            self.popen = subprocess.Popen(  # noqa: S603 (kai, a baseline or redis-server)
                argv, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
            )
        self.pid = self.popen.pid

    def starting(self, deadline: float) -> None:
        """Fails the bench if the process has exited, or the deadline has passed."""
        if self.popen.poll() is not None or time.monotonic() > deadline:
            fail(f"{self.argv} did not start:\n{self.log.read_text(errors='replace')[-4000:]}")

    def logged(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def wait_healthy(self, url: str) -> None:
        """Until `url`/healthz answers 200."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            self.starting(deadline)
            time.sleep(0.1)

    async def until(self, ready: Callable[[], Awaitable[bool]]) -> None:
        """Until `ready()` is true."""
        deadline = time.monotonic() + START_SECONDS
        while not await ready():
            self.starting(deadline)
            await asyncio.sleep(0.05)

    async def wait_healthy_async(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=2) as http:

            async def healthy() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await http.get(f"{url}/healthz")).status_code == 200
                return False

            await self.until(healthy)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped in STOP_SECONDS (or the wait was
        itself interrupted: a second Ctrl-C)."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=STOP_SECONDS)
            finally:
                if self.popen.poll() is None:
                    self.popen.kill()
                    self.popen.wait()


@contextmanager
def serving(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Process]:
    """A server on `port`, up once /healthz answers; stopped at the end."""
    process = Process(argv, env, log)
    try:
        process.wait_healthy(f"http://127.0.0.1:{port}")
        yield process
    finally:
        process.stop()


@asynccontextmanager
async def serving_async(
    argv: list[str], env: dict[str, str], port: int, log: Path
) -> AsyncIterator[Process]:
    """`serving`, waiting without blocking the event loop."""
    process = Process(argv, env, log)
    try:
        await process.wait_healthy_async(f"http://127.0.0.1:{port}")
        yield process
    finally:
        await asyncio.to_thread(process.stop)


def postgres_admin_url() -> str | None:
    """The PostgreSQL server to make databases on: KAI_BENCH_DATABASE_URL, else
    KAI_TEST_DATABASE_URL (asyncpg URLs)."""
    return os.environ.get("KAI_BENCH_DATABASE_URL") or os.environ.get("KAI_TEST_DATABASE_URL")


@asynccontextmanager
async def postgres_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """A fresh database on the server of `admin_url`, dropped at the end; its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


# -- reports --------------------------------------------------------------------------------


def machine() -> str:
    return (
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = ""  # the format's type and precision: ".1f", "d", "s"
    align: str = ""  # "<" for text read left to right; numbers line up on the right


class Table:
    """Rows of a report: each cell as wide as its column's title, ` | ` between them."""

    def __init__(self, *columns: Column, indent: str = "  "):
        self.columns = columns
        self.indent = indent

    def header(self) -> None:
        print(self.indent + " | ".join(column.title for column in self.columns))

    def cells(self, *values: Any) -> str:
        """The first len(values) cells of a row."""
        if len(values) > len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        return " | ".join(
            format(value, f"{column.align}{len(column.title)}{column.kind}")
            for column, value in zip(self.columns, values, strict=False)
        )

    def row(self, *values: Any) -> None:
        print(self.indent + self.cells(*values))
