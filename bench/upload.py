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
    uv run python bench/upload.py --quick   # 1 and 4 MiB, once: what CI runs

Settings (options, or environment): --large-mib (KAI_BENCH_LARGE_MIB, 100), --small-mib
(KAI_BENCH_SMALL_MIB, 10), --repeats (KAI_BENCH_REPEATS, 5), --chunk-kib
(KAI_BENCH_CHUNK_KIB, 1024).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/upload.py`, bench/ would be first on sys.path: the checkout instead
# (bench/http.py is named like the standard library's `http`; the benches import `bench.*`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import hashlib
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench._seed import REGISTER, data_of, png_head, request
from bench._support import (
    MIB,
    PASSWORD,
    Column,
    PeakRss,
    Table,
    cpu_seconds,
    exit_on_sigterm,
    free_port,
    kai,
    kai_env,
    machine,
    parse,
    parser,
    require_proc,
    serving,
    status_kib,
)

UPLOAD = """
mutation($file: Upload!, $agentId: ID) {
  uploadFile(file: $file, agentId: $agentId) { id size mimeType checksum }
}
"""
DELETE = "mutation($id: ID!) { deleteFile(id: $id) }"
QUICK = {"large_mib": 4, "small_mib": 1, "repeats": 1}


def setting(name: str, default: int) -> int:
    """A default from the environment (the options came later)."""
    return int(os.environ.get(name, default))


# -- the content -----------------------------------------------------------------------


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
        head = png_head(4096)
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
        return data_of(self.http.post("/graphql", **request(query, variables, self.token)))

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
        stored = data_of(response)["uploadFile"]
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
        with PeakRss(pid, every=0.005) as rss:
            seconds, after_body, file_id = client.upload(content, checksum)
        row.server_cpu_seconds.append(cpu_seconds(pid) - cpu_before)
        row.kai_seconds.append(seconds)
        row.after_body_seconds.append(after_body)
        row.rss_growth_mib.append(rss.growth_mib)
        client.delete(file_id)  # keeps the disk use to one file at a time
    return row


def options() -> argparse.Namespace:
    made = parser(__doc__, "bench/upload.py")
    for name, variable, default, what in (
        ("--large-mib", "KAI_BENCH_LARGE_MIB", 100, "the large upload, MiB"),
        ("--small-mib", "KAI_BENCH_SMALL_MIB", 10, "the small upload, MiB"),
        ("--repeats", "KAI_BENCH_REPEATS", 5, "uploads of each size"),
        ("--chunk-kib", "KAI_BENCH_CHUNK_KIB", 1024, "KiB a piece, sent and written"),
    ):
        made.add_argument(
            name, type=int, default=setting(variable, default), help=f"{what} ({default})"
        )
    args = parse(made, QUICK)
    for name in ("large_mib", "small_mib", "repeats", "chunk_kib"):
        if getattr(args, name) < 1:
            made.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main() -> None:
    args = options()
    large, small, repeats, chunk = args.large_mib, args.small_mib, args.repeats, args.chunk_kib
    chunk *= 1024
    require_proc()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-upload-") as scratch_name:
        scratch = Path(scratch_name)
        env = kai_env(
            scratch,
            KAI_QDRANT_URL=":memory:",
            # Over the largest file, so the cap (checked as the file is read) never trips.
            KAI_MAX_UPLOAD_BYTES=str(max(large, small, 100) * MIB + 28 * MIB),
            # The multipart parser spools the file to a temp file: here, on the same
            # file system as the baseline's file, and removed with the rest.
            TMPDIR=str(scratch),
        )
        port = free_port()
        with (
            serving(kai("serve", "--port", str(port)), env, port, scratch / "serve.log") as server,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http,
        ):
            pid = server.pid
            client = Client(http)
            credentials = {"email": "bench@example.com", "password": PASSWORD}
            registered = client.call(REGISTER, {"input": credentials})
            client.token = registered["register"]["accessToken"]
            # Warm-up: lazy imports, the first connection, the allocator's first arenas.
            measure(client, pid, 2, chunk, 2, scratch)
            rows = [measure(client, pid, mib, chunk, repeats, scratch) for mib in (small, large)]
            idle_rss = status_kib(pid, "VmRSS") / 1024
    report(rows, repeats, chunk, idle_rss)


TABLE = Table(
    Column("   size", "s"),
    Column("kAI MiB/s", ".1f"),
    Column("local MiB/s", ".1f"),
    Column("ratio", ".2f"),
    Column("kAI s", ".2f"),
    Column("after body s", ".2f"),
    Column("server CPU s", ".2f"),
    Column("peak RSS growth MiB", ".1f"),
)


def report(rows: list[Row], repeats: int, chunk: int, idle_rss: float) -> None:
    small, large = rows
    print(f"{machine()}; temp dir {tempfile.gettempdir()}")
    print(
        f"uploadFile (GraphQL multipart, chunked, {chunk // 1024} KiB pieces, image/png) into "
        f"one `kai serve` (SQLite, local blobs, no scanner) vs write + fsync of the same bytes "
        f"to a local file; median of {repeats}, RSS growth the worst of {repeats}:"
    )
    TABLE.header()
    for row in rows:
        TABLE.row(
            f"{row.mib:3d} MiB",
            row.kai_rate,
            row.local_rate,
            row.ratio,
            statistics.median(row.kai_seconds),
            row.after_body,
            row.cpu,
            row.rss_growth,
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
