"""Real clamd for tests: the shared one `.ci/run` starts, or one started here.

`KAI_TEST_CLAMD_URL` points at a running clamd; without it the `clamd_url`
fixture starts one for the session from `KAI_TEST_CLAMD`, `clamd` on the PATH
or /usr/sbin/clamd. Its database knows one virus, EICAR (no official databases
are needed). Without a clamd the tests skip, and under `CI=true` they fail: CI
must cover them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port

CLAMD_URL_ENV = "KAI_TEST_CLAMD_URL"
CLAMD_ENV = "KAI_TEST_CLAMD"

# The antivirus test file: harmless, and every scanner reports it.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Eicar-Test-Signature"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the virus scanner tests")
    pytest.skip(reason)


def clamd_binary() -> str | None:
    for candidate in (os.environ.get(CLAMD_ENV), "clamd", "/usr/sbin/clamd"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def clamd_binary_or_skip() -> str:
    binary = clamd_binary()
    if binary is None:
        _missing(f"no clamd binary ({CLAMD_ENV}, PATH, /usr/sbin/clamd)")
    assert binary
    return binary


def write_clamd_config(directory: Path, *, port: int, stream_max_length: str = "200M") -> Path:
    """A database knowing only EICAR, and a config for it; returns the config's path.

    The hash signature matches a file that is exactly EICAR (as the official
    databases do); the body signature finds it anywhere in a stream.
    """
    database = directory / "db"
    database.mkdir(parents=True, exist_ok=True)
    sha256 = hashlib.sha256(EICAR).hexdigest()
    (database / "eicar.hsb").write_text(f"{sha256}:{len(EICAR)}:{EICAR_SIGNATURE}:73\n")
    (database / "eicar.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")
    lines = [
        f"DatabaseDirectory {database}",
        f"TCPSocket {port}",
        "TCPAddr 127.0.0.1",
        f"LocalSocket {directory / 'clamd.sock'}",
        "Foreground yes",
        f"StreamMaxLength {stream_max_length}",
        "MaxFileSize 200M",
        "MaxScanSize 200M",
        f"LogFile {directory / 'clamd.log'}",
    ]
    if os.geteuid() == 0:
        lines.append("User root")
    config = directory / "clamd.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


@dataclass(frozen=True)
class ClamdProcess:
    process: subprocess.Popen[bytes]
    url: str  # tcp://127.0.0.1:<port>
    socket_path: Path

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"


@contextmanager
def clamd_process(
    directory: Path, *, stream_max_length: str = "200M", timeout: float = 60
) -> Iterator[ClamdProcess]:
    """A clamd started in `directory` and answering PING; terminated afterwards."""
    binary = clamd_binary_or_skip()
    port = free_port()
    config = write_clamd_config(directory, port=port, stream_max_length=stream_max_length)
    output = directory / "clamd.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                logs = "".join(
                    path.read_text(errors="replace")
                    for path in (output, directory / "clamd.log")
                    if path.exists()
                )
                raise RuntimeError(f"clamd did not start on port {port}:\n{logs}")
            time.sleep(0.05)
        yield ClamdProcess(process, f"tcp://127.0.0.1:{port}", directory / "clamd.sock")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(16) == b"PONG\0"
    except OSError:
        return False


@pytest.fixture(scope="session")
def clamd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL (tcp://...) of a running clamd that knows EICAR."""
    url = os.environ.get(CLAMD_URL_ENV)
    if url:
        yield url
        return
    if clamd_binary() is None:
        _missing(f"{CLAMD_URL_ENV} not set and no clamd binary")
    with clamd_process(tmp_path_factory.mktemp("clamd")) as server:
        yield server.url
