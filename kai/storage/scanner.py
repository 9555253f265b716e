"""Virus scanning of uploads, streamed to clamd.

A scanner that is configured but cannot answer raises `ScannerUnavailable`:
the upload then fails, it never counts as clean.

The socket is driven with the event loop's `sock_*` calls rather than asyncio
streams: when clamd refuses a stream (over `StreamMaxLength`) it answers and
closes mid-upload, and a stream transport that fails to write drops the answer
it has not read yet; a plain socket still reads it after the broken pipe.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

_T = TypeVar("_T")

# Small uploads' chunks are gathered and big ones split: fewer system calls,
# bounded memory. clamd limits the stream's total (StreamMaxLength), not a chunk.
FRAME_BYTES = 64 * 1024
# Replies are one short line; more than this is not clamd.
MAX_REPLY_BYTES = 4096

_LENGTH = struct.Struct(">I")


class ScannerUnavailable(Exception):
    """The scanner is configured but unreachable or failing: the upload must fail."""


class ScanStream(Protocol):
    """One scan fed chunk by chunk, as the bytes pass by (an upload's one pass)."""

    async def send(self, chunk: bytes) -> None:
        """Hands `chunk` to the scanner; raises ScannerUnavailable when it cannot take it."""
        ...

    async def verdict(self) -> str | None:
        """After the last chunk: None when clean, else the name of the signature found."""
        ...


class Scanner(Protocol):
    name: str

    def stream(self) -> AbstractAsyncContextManager[ScanStream]:
        """A scan to feed; leaving it (after the verdict, or on any failure) ends it."""
        ...

    async def check(self) -> None:
        """Raise ScannerUnavailable unless the scanner answers."""
        ...


class ClamdScanner:
    """Scans with clamd's INSTREAM command, one connection per scan.

    `url` is `tcp://host:port`, `unix:///path/to/clamd.ctl` or a bare absolute
    socket path. `timeout` bounds a whole scan, including the time `chunks`
    takes to produce the data, and a `check`.

    >>> scanner = ClamdScanner("unix:///run/clamav/clamd.ctl")
    >>> await scanner.scan(chunks)  # None, or e.g. "Eicar-Test-Signature"
    """

    name = "clamd"

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout
        self._path: str | None = None
        self._host = ""
        self._port = 0
        parts = urlsplit(url)
        if url.startswith("/"):
            self._path = url
        elif parts.scheme == "unix" and not parts.netloc and parts.path.startswith("/"):
            self._path = parts.path
        elif parts.scheme == "tcp" and parts.hostname and not parts.path.strip("/"):
            self._host = parts.hostname
            self._port = parts.port or 0  # an invalid port raises ValueError here
        if self._path is None and not (self._host and self._port):
            raise ValueError(
                f"clamd URL {url!r} is not tcp://host:port, unix:///path or an absolute path"
            )

    def __repr__(self) -> str:
        return f"ClamdScanner({self.url!r})"

    async def scan(self, chunks: AsyncIterable[bytes]) -> str | None:
        """`chunks` through one stream: None when clean, else the signature found."""
        async with self.stream() as scan:
            async for chunk in chunks:
                await scan.send(chunk)
            return await scan.verdict()

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[ScanStream]:
        """An INSTREAM scan on a connection of its own. `timeout` bounds all of it: the
        connection, the caller's work between chunks, and the verdict."""
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                sock = await self._connect()
                try:
                    scan = _InStream(self, sock)
                    await scan.send_raw(b"zINSTREAM\0")
                    yield scan
                finally:
                    sock.close()
        except TimeoutError:
            if not deadline.expired():
                raise  # the caller's own work timed out: not ours to rename
            raise ScannerUnavailable(
                f"clamd at {self.url} did not answer within {self.timeout:g} s"
            ) from None

    async def check(self) -> None:
        async def ping(sock: socket.socket) -> None:
            await self._send(sock, b"zPING\0")
            reply = await self._reply(sock)
            if reply != "PONG":
                raise ScannerUnavailable(f"clamd at {self.url} answered {reply!r} to PING")

        await self._exchange(ping)

    async def _exchange(self, talk: Callable[[socket.socket], Awaitable[_T]]) -> _T:
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                sock = await self._connect()
                try:
                    return await talk(sock)
                finally:
                    sock.close()
        except TimeoutError:
            if not deadline.expired():
                raise  # the caller's chunks timed out on their own: not ours to rename
            raise ScannerUnavailable(
                f"clamd at {self.url} did not answer within {self.timeout:g} s"
            ) from None

    async def _connect(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        try:
            if self._path is not None:
                return await _connect(loop, socket.AF_UNIX, self._path)
            addresses = await loop.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)
            error: OSError = OSError(f"no address for {self._host}")
            for family, _, _, _, address in addresses:
                try:
                    return await _connect(loop, family, address)
                except OSError as exc:
                    error = exc
            raise error
        except OSError as exc:
            raise ScannerUnavailable(f"cannot connect to clamd at {self.url}: {exc}") from exc

    async def _send(self, sock: socket.socket, data: bytes) -> bool:
        """False when clamd has closed the connection: its reply is still to read."""
        try:
            await asyncio.get_running_loop().sock_sendall(sock, data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return False
        except OSError as exc:
            raise ScannerUnavailable(f"cannot send to clamd at {self.url}: {exc}") from exc
        return True

    async def _reply(self, sock: socket.socket) -> str:
        loop = asyncio.get_running_loop()
        reply = b""
        while b"\0" not in reply:
            try:
                data = await loop.sock_recv(sock, MAX_REPLY_BYTES)
            except OSError as exc:
                raise ScannerUnavailable(
                    f"clamd at {self.url} dropped the connection: {exc}"
                ) from exc
            if not data:
                raise ScannerUnavailable(
                    f"clamd at {self.url} closed the connection without an answer"
                    + (f" (got {reply!r})" if reply else "")
                )
            reply += data
            if len(reply) > MAX_REPLY_BYTES:
                raise ScannerUnavailable(f"clamd at {self.url} sent an overlong reply")
        return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def _verdict(self, reply: str) -> str | None:
        if reply == "stream: OK":
            return None
        body = reply.removeprefix("stream: ")
        if body != reply and body.endswith(" FOUND"):
            signature = body.removesuffix(" FOUND").strip()
            if signature:
                # Signatures from a local database (ours in tests) carry this suffix.
                return signature.removesuffix(".UNOFFICIAL")
        if reply.endswith(" ERROR"):
            raise ScannerUnavailable(
                f"clamd at {self.url} could not scan: {reply.removesuffix(' ERROR')}"
            )
        raise ScannerUnavailable(f"clamd at {self.url} sent an unexpected reply: {reply!r}")


async def _connect(
    loop: asyncio.AbstractEventLoop, family: int, address: str | tuple[object, ...]
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


class _InStream:
    """The INSTREAM command's data as length-prefixed frames, then the empty frame.

    Small chunks are gathered and big ones split into FRAME_BYTES frames. An empty chunk is
    skipped: sent as such it would end the stream. When clamd stops reading (over its
    StreamMaxLength) it has already said why: that reply is read at once, and an error is
    raised there, so the upload stops then rather than at its end.
    """

    def __init__(self, scanner: ClamdScanner, sock: socket.socket) -> None:
        self._scanner = scanner
        self._sock = sock
        self._pending = bytearray()
        # clamd's reply, once read (at the end, or when it stopped reading before).
        self._reply: str | None = None

    async def send_raw(self, data: bytes) -> None:
        if self._reply is not None:
            return
        if not await self._scanner._send(self._sock, data):
            self._reply = await self._scanner._reply(self._sock)
            self._scanner._verdict(self._reply)  # raises on an error

    async def send(self, chunk: bytes) -> None:
        pending = self._pending
        pending += chunk
        if len(pending) < FRAME_BYTES:
            return
        whole = len(pending) - len(pending) % FRAME_BYTES
        with memoryview(pending) as view:
            frames = b"".join(
                _frame(view[start : start + FRAME_BYTES]) for start in range(0, whole, FRAME_BYTES)
            )
        del pending[:whole]
        await self.send_raw(frames)

    async def verdict(self) -> str | None:
        if self._reply is None:
            tail = (_frame(self._pending) if self._pending else b"") + _LENGTH.pack(0)
            self._pending = bytearray()
            # Taken or not (clamd may stop reading at the very end), its reply says why.
            await self._scanner._send(self._sock, tail)
            self._reply = await self._scanner._reply(self._sock)
        return self._scanner._verdict(self._reply)


def _frame(data: bytes | bytearray | memoryview) -> bytes:
    return _LENGTH.pack(len(data)) + data
