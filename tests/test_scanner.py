"""ClamdScanner against a real clamd that knows EICAR, and against fake servers for failures."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from kai.storage.scanner import ClamdScanner, Scanner, ScannerUnavailable
from tests.support.clamd_server import EICAR, EICAR_SIGNATURE, ClamdProcess, clamd_process
from tests.support.servers import free_port

MiB = 1024 * 1024


async def chunks_of(*parts: bytes) -> AsyncGenerator[bytes, None]:
    for part in parts:
        yield part


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture(scope="module")
def small_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdProcess]:
    """A clamd of this module's own: refuses streams over 1 MiB, also on a unix socket."""
    with clamd_process(tmp_path_factory.mktemp("clamd"), stream_max_length="1M") as server:
        yield server


@contextlib.asynccontextmanager
async def fake_clamd(reply: bytes | None) -> AsyncIterator[str]:
    """A server that reads a little, then answers `reply` and closes, or never answers (None)."""

    handlers: set[asyncio.Task[None]] = set()
    connections: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        connections.add(writer)
        try:
            await reader.read(64)
            if reply is None:
                while await reader.read(65536):
                    pass
            else:
                writer.write(reply)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.close()
        # Hanging up ends each handler's read: cancelling a handler would make asyncio
        # 3.11's start_server log the CancelledError as an error.
        for writer in connections:
            writer.transport.abort()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def test_eicar_constant_is_the_standard_test_file() -> None:
    assert len(EICAR) == 68
    assert hashlib.sha256(EICAR).hexdigest() == (
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    )


def test_clamd_scanner_is_a_scanner() -> None:
    scanner: Scanner = ClamdScanner("tcp://127.0.0.1:3310")
    assert scanner.name == "clamd"


async def test_clean_bytes_scan_clean(clamd_url: str) -> None:
    assert await ClamdScanner(clamd_url).scan(chunks_of(b"hello, ", b"world\n")) is None


async def test_eicar_is_found_by_name_without_unofficial_suffix(clamd_url: str) -> None:
    assert await ClamdScanner(clamd_url).scan(chunks_of(EICAR)) == EICAR_SIGNATURE


@pytest.mark.parametrize("size", [1, 3, 7, 67])
async def test_eicar_in_tiny_chunks_is_found(clamd_url: str, size: int) -> None:
    # Empty chunks between them must not end the stream early.
    parts = [p for piece in pieces(EICAR, size) for p in (piece, b"")]
    assert await ClamdScanner(clamd_url).scan(chunks_of(*parts)) == EICAR_SIGNATURE


@pytest.mark.parametrize("chunk_size", [1000, 64 * 1024, 5 * MiB])
async def test_eicar_after_5_mib_of_clean_data_is_found(clamd_url: str, chunk_size: int) -> None:
    data = bytes(5 * MiB) + EICAR
    found = await ClamdScanner(clamd_url).scan(chunks_of(*pieces(data, chunk_size)))
    assert found == EICAR_SIGNATURE


@pytest.mark.parametrize("parts", [(), (b"",), (b"", b"")])
async def test_no_bytes_scan_clean(clamd_url: str, parts: Iterable[bytes]) -> None:
    assert await ClamdScanner(clamd_url).scan(chunks_of(*parts)) is None


async def test_concurrent_scans_each_get_their_own_answer(clamd_url: str) -> None:
    scanner = ClamdScanner(clamd_url)
    uploads = [EICAR if i % 2 else b"clean %d" % i for i in range(8)]
    results = await asyncio.gather(*(scanner.scan(chunks_of(u)) for u in uploads))
    assert results == [EICAR_SIGNATURE if i % 2 else None for i in range(8)]


async def test_unix_socket_urls_work(small_clamd: ClamdProcess) -> None:
    for url in (small_clamd.unix_url, str(small_clamd.socket_path)):
        scanner = ClamdScanner(url)
        await scanner.check()
        assert await scanner.scan(chunks_of(EICAR)) == EICAR_SIGNATURE
        assert await scanner.scan(chunks_of(b"clean")) is None


@pytest.mark.parametrize("chunk_size", [1, 1000, 64 * 1024, 2 * MiB])
async def test_stream_over_clamd_limit_is_unavailable_not_clean(
    small_clamd: ClamdProcess, chunk_size: int
) -> None:
    # clamd answers and hangs up mid-stream: its reason must come through, not a broken pipe.
    data = bytes(2 * MiB)
    # The scanner stops reading at clamd's answer: closing the source is its maker's part.
    async with aclosing(chunks_of(*pieces(data, chunk_size))) as chunks:
        with pytest.raises(ScannerUnavailable, match="size limit exceeded"):
            await ClamdScanner(small_clamd.url).scan(chunks)


async def test_closed_port_is_unavailable_at_once() -> None:
    scanner = ClamdScanner(f"tcp://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(ScannerUnavailable, match="cannot connect"):
        await scanner.scan(chunks_of(b"data"))
    with pytest.raises(ScannerUnavailable, match="cannot connect"):
        await scanner.check()
    assert time.monotonic() - started < 1


async def test_missing_unix_socket_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ScannerUnavailable, match="cannot connect"):
        await ClamdScanner(f"{tmp_path}/nothing.sock").scan(chunks_of(b"data"))


async def test_server_that_never_answers_times_out_as_unavailable() -> None:
    async with fake_clamd(None) as url:
        scanner = ClamdScanner(url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ScannerUnavailable, match=r"did not answer within 0\.3 s"):
            await scanner.scan(chunks_of(b"data"))
        with pytest.raises(ScannerUnavailable, match="did not answer"):
            await scanner.check()
        assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"", "without an answer"),
        (b"stream: O", "without an answer"),
        (b"Something broke. ERROR\0", "could not scan: Something broke."),
        (b"stream: FOUND\0", "unexpected reply"),
        (b"PONG\0", "unexpected reply"),
        (b"x" * 5000, "overlong reply"),
    ],
)
async def test_protocol_errors_are_unavailable(reply: bytes, message: str) -> None:
    async with fake_clamd(reply) as url:
        with pytest.raises(ScannerUnavailable, match=message):
            await ClamdScanner(url, timeout=5).scan(chunks_of(b"data"))


@pytest.mark.parametrize(
    "error", [ValueError("bad upload"), OSError("client gone"), TimeoutError()]
)
async def test_error_from_the_chunks_propagates_unchanged(clamd_url: str, error: Exception) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield bytes(100_000)
        raise error

    scanner = ClamdScanner(clamd_url)
    with pytest.raises(type(error)) as raised:
        await scanner.scan(failing())
    assert raised.value is error
    assert await scanner.scan(chunks_of(EICAR)) == EICAR_SIGNATURE


async def test_check_passes_on_clamd(clamd_url: str) -> None:
    await ClamdScanner(clamd_url).check()


async def test_check_fails_on_a_wrong_answer() -> None:
    async with fake_clamd(b"PANG\0") as url:
        with pytest.raises(ScannerUnavailable, match="answered 'PANG' to PING"):
            await ClamdScanner(url, timeout=5).check()


@pytest.mark.parametrize(
    "url",
    ["tcp://localhost:3310", "tcp://[::1]:3310", "unix:///run/clamav/clamd.ctl", "/run/clamd.ctl"],
)
def test_valid_urls_are_accepted(url: str) -> None:
    assert ClamdScanner(url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "localhost:3310",
        "clamd.ctl",
        "tcp://localhost",
        "tcp://:3310",
        "tcp://localhost:99999",
        "tcp://localhost:port",
        "tcp://localhost:3310/path",
        "http://localhost:3310",
        "unix://clamd.ctl",
        "unix://host/run/clamd.ctl",
    ],
)
def test_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        ClamdScanner(url)
