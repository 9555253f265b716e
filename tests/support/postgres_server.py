"""A PostgreSQL server a test owns: its own cluster, stopped and started again at will.

The binaries come from `KAI_TEST_PG_BIN` (a directory holding initdb and
pg_ctl), from the PATH, or from the Debian layout /usr/lib/postgresql/<n>/bin.
Without them the tests that need one skip, and under `CI=true` they fail: CI
must cover them. `initdb` refuses to run as root, so as root every server
command runs as the `postgres` user (`runuser -u postgres --`), in a directory
that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.servers import free_port

PG_BIN_ENV = "KAI_TEST_PG_BIN"
SERVER_USER = "postgres"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the PostgreSQL recovery tests")
    pytest.skip(reason)


def postgres_bin() -> Path | None:
    """The directory of initdb and pg_ctl, if there is one."""
    candidates: list[Path] = []
    if configured := os.environ.get(PG_BIN_ENV):
        candidates.append(Path(configured))
    if found := shutil.which("initdb"):
        candidates.append(Path(found).parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (path for path in debian.iterdir() if path.name.isdigit()),
            key=lambda path: int(path.name),
            reverse=True,
        )
        candidates.extend(path / "bin" for path in versions)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def postgres_bin_or_skip() -> Path:
    directory = postgres_bin()
    if directory is None:
        _missing(f"no PostgreSQL server binaries ({PG_BIN_ENV}, PATH, /usr/lib/postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            _missing(f"running as root without a {SERVER_USER!r} user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            _missing("running as root without runuser")
    assert directory is not None
    return directory


class PostgresProcess:
    """A PostgreSQL cluster of this test, on a fixed loopback port, that it can stop and start.

    The directory lives under the system's temporary directory, not pytest's
    `tmp_path` (mode 0700, owned by root: the server's user could not reach it).
    """

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.directory = Path(tempfile.mkdtemp(prefix="kai-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        # For kAI (SQLAlchemy), and for asyncpg or psql directly.
        # No TLS on this server: see tests/support/databases.py without_tls_negotiation.
        address = f"{SERVER_USER}@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+asyncpg://{address}?ssl=disable"
        self.dsn = f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self.directory.chmod(0o755)
            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.directory, account.pw_uid, account.pw_gid)

    def _run(self, tool: str, *args: str, timeout: float = 90) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.server_log()}"
            )

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self, timeout: float = 60) -> None:
        """Starts the server (again) on the same port and data; returns once it takes queries."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            options,
            "start",
        )
        deadline = time.monotonic() + timeout
        while not self.accepting():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start on {self.port}:\n{self.server_log()}")
            time.sleep(0.05)

    def stop(self, mode: str = "fast", *, wait: bool = True) -> None:
        """`fast`: sessions are cut, open transactions roll back, the data stays on disk.
        `immediate`: like a crash (recovery runs at the next start). `smart`: waits for
        the open sessions to end, refusing new ones meanwhile. `wait=False` returns at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-W" if not wait else "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def accepting(self) -> bool:
        """The port takes connections (it may still refuse them while starting up)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def cleanup(self) -> None:
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def postgres_process() -> Iterator[PostgresProcess]:
    """A fresh, started PostgreSQL cluster; stopped and deleted afterwards."""
    server = PostgresProcess(postgres_bin_or_skip())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()
