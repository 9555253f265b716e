"""File uploads, end to end: `uploadFile` over the GraphQL multipart request spec.

Starts one `kai serve` (SQLite, local blob directory, no virus scanner, all in a
temp directory removed at the end), registers a user, and measures:

- throughput: a large upload (100 MiB by default) streamed in 1 MiB chunks
  (chunked transfer encoding), from the first byte sent to the response, beside
  writing the same bytes with the same chunking to a local file in the same temp
  directory, fsync'ed, in the same run (interleaved, median of the repeats);
- memory: the server's peak RSS growth during a small (10 MiB) and the large
  upload, which must not grow with the file's size.

    uv run python bench/upload.py

Settings (environment): KAI_BENCH_LARGE_MIB (100), KAI_BENCH_SMALL_MIB (10),
KAI_BENCH_REPEATS (5), KAI_BENCH_CHUNK_KIB (1024).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
SECRET = "bench-secret-" + "x" * 40
REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { accessToken } }
"""
UPLOAD = """
mutation($file: Upload!, $agentId: ID) {
  uploadFile(file: $file, agentId: $agentId) { id size mimeType checksum }
}
"""
DELETE = "mutation($id: ID!) { deleteFile(id: $id) }"
SAMPLE_SECONDS = 0.005


def setting(name: str, default: int) -> int:
    value = int(os.environ.get(name, default))
    if value < 1:
        raise SystemExit(f"bench: {name} must be at least 1")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the content -----------------------------------------------------------------------


def png_head() -> bytes:
    """A PNG signature and IHDR chunk: what the sniffer looks at is a real PNG's start."""
    ihdr = struct.pack(">IIBBBBB", 4096, 4096, 8, 6, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", crc)
    )


@dataclass(frozen=True)
class Content:
    """`size` bytes as `chunk`-sized pieces: one random block, repeated (os.urandom of
    100 MiB would cost more than the measurement), a PNG head at the very start.

    PNG, not text/plain: image/png is allowed by default but not indexed for search,
    so no background indexing task runs after the upload and competes with the next
    one; the upload's own cost is what is measured.
    """

    size: int
    chunk: int
    block: bytes
    first: bytes

    @classmethod
    def make(cls, size: int, chunk: int) -> Content:
        block = os.urandom(chunk)
        head = png_head()
        return cls(size, chunk, block, head + block[len(head) :])

    def chunks(self) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            piece = self.first if sent == 0 else self.block
            piece = piece[: min(self.chunk, self.size - sent)]
            yield piece
            sent += len(piece)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.chunks():
            digest.update(piece)
        return digest.hexdigest()


# -- the server and its memory ---------------------------------------------------------


@contextmanager
def kai_serve(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """`kai serve` (uvicorn, one process) on a free port; yields (base URL, pid)."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, running kai)
            [sys.executable, "-m", "kai.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: kai serve did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            finally:  # too slow, or the wait itself interrupted (a second Ctrl-C)
                if process.poll() is None:
                    process.kill()
                    process.wait()


def status_kib(pid: int, field: str) -> int:
    """A `VmRSS`-like field of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """The server's RSS just before a request and its peak during it, in KiB.

    The peak is sampled every few milliseconds in a thread; where the kernel allows
    it, the high-water mark (VmHWM) is also reset first (`5` to clear_refs) and read
    after, which catches a peak between two samples.
    """

    def __init__(self, pid: int):
        self.pid = pid
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
        while not self._stop.wait(SAMPLE_SECONDS):
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


# -- the two ways of writing the bytes ---------------------------------------------------


def multipart_head(boundary: str, *, filename: str, content_type: str) -> bytes:
    """As tests/support/uploads.py builds it: `operations`, `map`, then the file part's headers."""
    operations = {"query": UPLOAD, "variables": {"file": None, "agentId": None}}
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{json.dumps(operations)}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        f"{json.dumps({'0': ['variables.file']})}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


class Client:
    def __init__(self, http: httpx.Client):
        self.http = http
        self.token = ""

    def call(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.token}"} if self.token else {},
        )
        return self.data(response)

    @staticmethod
    def data(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}") from None
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def upload(self, content: Content, checksum: str) -> tuple[float, float, str]:
        """Seconds from the first byte sent to the whole response read, of which after
        the last byte was sent (the server's work once it has the whole body, give or
        take a loopback socket buffer); the file's id."""
        boundary = "kai-bench-" + secrets.token_hex(8)
        head = multipart_head(boundary, filename="bench.png", content_type="image/png")
        tail = f"\r\n--{boundary}--\r\n".encode()

        sent = 0.0

        def body() -> Iterator[bytes]:
            nonlocal sent
            yield head
            yield from content.chunks()
            yield tail
            sent = time.perf_counter()  # httpx asks for more once the tail is written

        headers = {
            "content-type": f"multipart/form-data; boundary={boundary}",
            "authorization": f"Bearer {self.token}",
        }
        began = time.perf_counter()
        response = self.http.post("/graphql", content=body(), headers=headers)
        ended = time.perf_counter()
        stored = self.data(response)["uploadFile"]
        if (stored["size"], stored["checksum"], stored["mimeType"]) != (
            content.size,
            checksum,
            "image/png",
        ):
            raise RuntimeError(f"bench: the server stored something else: {stored}")
        return ended - began, ended - sent, str(stored["id"])

    def delete(self, file_id: str) -> None:
        self.call(DELETE, {"id": file_id})


def local_write(content: Content, directory: Path) -> float:
    """Seconds to write the same chunks to a new file and fsync it (the baseline)."""
    path = directory / f"baseline-{secrets.token_hex(4)}"
    began = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for piece in content.chunks():
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - began
    path.unlink()
    return seconds


# -- the run -------------------------------------------------------------------------------


@dataclass
class Row:
    mib: int
    kai_seconds: list[float]
    local_seconds: list[float]
    after_body_seconds: list[float]
    rss_growth_mib: list[float]
    server_cpu_seconds: list[float]

    @property
    def kai_rate(self) -> float:
        return self.mib / statistics.median(self.kai_seconds)

    @property
    def local_rate(self) -> float:
        return self.mib / statistics.median(self.local_seconds)

    @property
    def ratio(self) -> float:
        return self.kai_rate / self.local_rate

    @property
    def rss_growth(self) -> float:
        return max(self.rss_growth_mib)  # the worst of the repeats

    @property
    def after_body(self) -> float:
        return statistics.median(self.after_body_seconds)

    @property
    def cpu(self) -> float:
        return statistics.median(self.server_cpu_seconds)


def measure(client: Client, pid: int, mib: int, chunk: int, repeats: int, directory: Path) -> Row:
    content = Content.make(mib * MIB, chunk)
    checksum = content.sha256()
    row = Row(mib, [], [], [], [], [])
    for _ in range(repeats):
        # Interleaved, so both see the same state of the disk and its write-back.
        row.local_seconds.append(local_write(content, directory))
        cpu_before = cpu_seconds(pid)
        with PeakRss(pid) as rss:
            seconds, after_body, file_id = client.upload(content, checksum)
        row.server_cpu_seconds.append(cpu_seconds(pid) - cpu_before)
        row.kai_seconds.append(seconds)
        row.after_body_seconds.append(after_body)
        row.rss_growth_mib.append(rss.growth_mib)
        client.delete(file_id)  # keeps the disk use to one file at a time
    return row


def main() -> None:
    large = setting("KAI_BENCH_LARGE_MIB", 100)
    small = setting("KAI_BENCH_SMALL_MIB", 10)
    repeats = setting("KAI_BENCH_REPEATS", 5)
    chunk = setting("KAI_BENCH_CHUNK_KIB", 1024) * 1024
    if not Path("/proc/self/status").exists():
        raise SystemExit("bench: reads the server's memory from /proc (Linux only)")
    # A SIGTERM unwinds like Ctrl-C: the server is stopped, the temp directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="kai-bench-upload-") as scratch_name:
        scratch = Path(scratch_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")} | {
            "KAI_DATA_DIR": str(scratch / "data"),
            "KAI_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'kai.db'}",
            "KAI_JWT_SECRET": SECRET,
            "KAI_QDRANT_URL": ":memory:",
            # Over the largest file, so the cap (checked as the file is read) never trips.
            "KAI_MAX_UPLOAD_BYTES": str(max(large, small, 100) * MIB + 28 * MIB),
            "KAI_LOG_LEVEL": "WARNING",
            # The multipart parser spools the file to a temp file: here, on the same
            # file system as the baseline's file, and removed with the rest.
            "TMPDIR": str(scratch),
        }
        with (
            kai_serve(env, scratch / "serve.log") as (url, pid),
            httpx.Client(base_url=url, timeout=300) as http,
        ):
            client = Client(http)
            client.token = client.call(
                REGISTER,
                {
                    "input": {
                        "email": "bench@example.com",
                        "password": "correct horse battery staple",
                    }
                },
            )["register"]["accessToken"]
            # Warm-up: lazy imports, the first connection, the allocator's first arenas.
            measure(client, pid, 2, chunk, 2, scratch)
            rows = [measure(client, pid, mib, chunk, repeats, scratch) for mib in (small, large)]
            idle_rss = status_kib(pid, "VmRSS") / 1024
    report(rows, repeats, chunk, idle_rss)


def report(rows: list[Row], repeats: int, chunk: int, idle_rss: float) -> None:
    small, large = rows
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; temp dir {tempfile.gettempdir()}"
    )
    print(
        f"uploadFile (GraphQL multipart, chunked, {chunk // 1024} KiB pieces, image/png) into "
        f"one `kai serve` (SQLite, local blobs, no scanner) vs write + fsync of the same bytes "
        f"to a local file; median of {repeats}, RSS growth the worst of {repeats}:"
    )
    print(
        "     size | kAI MiB/s | local MiB/s | ratio | kAI s | after body s | server CPU s "
        "| peak RSS growth MiB"
    )
    for row in rows:
        print(
            f"  {row.mib:3d} MiB | {row.kai_rate:9.1f} | {row.local_rate:11.1f} | "
            f"{row.ratio:5.2f} | {statistics.median(row.kai_seconds):5.2f} | "
            f"{row.after_body:12.2f} | {row.cpu:12.2f} | {row.rss_growth:19.1f}"
        )
    print(
        "  (after body: from the last byte sent to the response: reading the spooled file "
        "back to hash and sniff it, again into the blob store, fsync, the row; the last "
        "few MiB of the body may still sit in socket buffers, so rough for small files)"
    )
    print(f"  (server RSS at the end: {idle_rss:.0f} MiB)")
    flat = large.rss_growth < 2 * small.rss_growth + 16
    print(
        f"memory: {'flat' if flat else 'GROWS WITH FILE SIZE'} "
        f"({large.mib} MiB upload grows RSS {large.rss_growth:.1f} MiB, "
        f"{small.mib} MiB upload {small.rss_growth:.1f} MiB; flat means under 2x + 16 MiB)"
    )
    print(
        f"summary: {large.mib} MiB upload: {large.kai_rate:.0f} MiB/s vs "
        f"{large.local_rate:.0f} MiB/s local write (ratio {large.ratio:.2f}); peak RSS growth "
        f"{small.mib} MiB: {small.rss_growth:.1f} MiB, {large.mib} MiB: {large.rss_growth:.1f} MiB"
    )


if __name__ == "__main__":
    main()
