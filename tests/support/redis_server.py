"""Real Redis for tests: the shared server `.ci/run` starts, or one a test owns and restarts.

`KAI_TEST_REDIS_URL` points at the shared server; `KAI_TEST_REDIS_SERVER` is
the `redis-server` binary, for tests that kill and restart their own. Without
them those tests skip, and under `CI=true` they fail: CI must cover them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.servers import free_port

REDIS_URL_ENV = "KAI_TEST_REDIS_URL"
REDIS_SERVER_ENV = "KAI_TEST_REDIS_SERVER"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the Redis tests")
    pytest.skip(reason)


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        _missing(f"{REDIS_URL_ENV} not set")
    assert url
    return url


def redis_server_or_skip() -> str:
    binary = os.environ.get(REDIS_SERVER_ENV) or ""
    if not binary or not shutil.which(binary):
        _missing(f"{REDIS_SERVER_ENV} not set to a redis-server binary")
    return binary


class RedisProcess:
    """A redis-server this test started, on a fixed port, that it can kill, freeze and restart."""

    def __init__(self, binary: str, directory: Path):
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> None:
        assert self.process is None or self.process.poll() is not None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{log}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers, like a hung host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.kill()
        self.start()

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def redis_process(directory: Path) -> Iterator[RedisProcess]:
    """A started RedisProcess, always killed afterwards (thawed first if frozen)."""
    server = RedisProcess(redis_server_or_skip(), directory)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.thaw()
            server.kill()


@pytest.fixture(name="redis")
def redis_fixture(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of the test's own (tests that kill or restart it)."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_process(directory) as server:
        yield server
