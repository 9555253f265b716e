"""`kai serve` and `kai worker` processes that tests start, kill and stop at will, their
output read as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from tests.support.servers import ROOT, free_port

STARTUP = 60.0


@dataclass
class KaiProcess:
    """A `kai serve` or `kai worker` process; its output is read as it comes (a full pipe
    would stall it)."""

    name: str
    process: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.output))

    def log(self) -> str:
        return f"--- {self.name} ---\n" + "".join(self.output)

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, like a crashed host."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    async def ready(self, timeout: float = STARTUP) -> None:  # noqa: ASYNC109
        """Until `kai serve` answers /healthz, or `kai worker` logged that it is ready."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                if self.url:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get(f"{self.url}/healthz")).status_code == 200:
                            return
                elif self.logged("ready:"):
                    return
                if not self.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
                await asyncio.sleep(0.1)


class Processes:
    """Starts `kai` processes (without waiting for them), and stops every one at the end."""

    def __init__(self) -> None:
        self.started: list[KaiProcess] = []

    def launch(self, name: str, env: dict[str, str], *args: str) -> KaiProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "kai.cli", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        kai = KaiProcess(name, process)
        self.started.append(kai)
        stdout = process.stdout
        assert stdout is not None

        def drain() -> None:  # ends at EOF, when the process has exited
            for line in stdout:
                kai.output.append(line)

        threading.Thread(target=drain, name=f"{name} output", daemon=True).start()
        return kai

    def serve(self, name: str, env: dict[str, str]) -> KaiProcess:
        port = free_port()
        kai = self.launch(name, env, "serve", "--port", str(port))
        kai.url = f"http://127.0.0.1:{port}"
        return kai

    def worker(self, name: str, env: dict[str, str], concurrency: int = 2) -> KaiProcess:
        return self.launch(name, env, "worker", "--concurrency", str(concurrency))

    def logs(self) -> str:
        return "\n".join(kai.log() for kai in self.started)

    def stop_all(self) -> None:
        for kai in self.started:
            kai.stop()


@contextmanager
def processes() -> Iterator[Processes]:
    running = Processes()
    try:
        yield running
    finally:
        running.stop_all()
