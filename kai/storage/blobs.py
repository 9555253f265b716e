"""Blob stores: the bytes of uploaded files, by a server-generated key.

A blob is written whole or not at all. The file service writes the blob before
the database row that points at it and takes it back when anything fails, so a
store must never leave a half-written blob that a later `open` could serve:
`put` stages the bytes (a temp file, an S3 multipart upload) and publishes them
only after the last chunk, and an exception or a cancellation on the way
removes whatever was staged.

Reads stream in chunks of about `chunk_size`, so serving a large file costs the
same memory as a small one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
import time
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
)
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 1 << 20
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A temp file this old was left by a process that died mid-upload: no upload
# takes a day, so removing it cannot pull a file from under a live one.
_STALE_TEMP_SECONDS = 24 * 3600


class BlobMissing(Exception):
    """The key has no blob."""


class BlobStoreUnavailable(Exception):
    """The store cannot be used right now (unreachable, refusing us, disk unusable):
    the service answers SERVICE_UNAVAILABLE rather than INTERNAL_SERVER_ERROR."""


class BlobStore(Protocol):
    async def start(self) -> None:
        """Open clients, make directories."""

    async def aclose(self) -> None: ...

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store all that `chunks` yields under `key` and return the byte count.

        All or nothing: if `chunks` raises (its exception propagates unchanged),
        the task is cancelled or storing fails, nothing is left under `key`.
        """

    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """`async with store.open(key) as chunks`; BlobMissing on entry if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is fine."""

    async def check(self) -> None:
        """Readiness: raise BlobStoreUnavailable if the store cannot be used."""


def valid_key(key: object) -> bool:
    """Keys are server-generated; anything else (a path, a dot) is refused everywhere,
    so no bug upstream can turn a key into a path outside the store."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def require_valid_key(key: str) -> str:
    if not valid_key(key):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


def positive_chunk_size(chunk_size: int) -> int:
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return chunk_size


async def finish_despite_cancellation(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` to its end even if this task is cancelled meanwhile (once or
    again), then re-raise the cancellation: clean-up that must not be cut short."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


class _TempFile:
    """A blob being written under `.tmp`, then moved into place.

    Every method runs on the put's own single writer thread, in submission order:
    a task cancelled while awaiting a write cannot stop that thread, and the one
    thread is what guarantees `discard` runs after the write, never under it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.committed: Path | None = None

    def open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(self.path, flags, 0o600)

    def write(self, parts: list[bytes]) -> None:
        assert self.fd is not None
        # Joined here, not in the event loop: copying megabytes is work too.
        view = memoryview(parts[0] if len(parts) == 1 else b"".join(parts))
        while view:
            view = view[os.write(self.fd, view) :]

    def commit(self, final: Path) -> None:
        assert self.fd is not None
        # The database will say this blob exists: its bytes must be on disk
        # before the rename makes it visible, and the rename itself too.
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self.path, final)
        self.committed = final
        _fsync_directory(final.parent)

    def discard(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        self.path.unlink(missing_ok=True)
        # A cancellation that arrived while commit ran: the caller is told the
        # put failed, so the blob must not stay.
        if self.committed is not None:
            self.committed.unlink(missing_ok=True)
            self.committed = None


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _filesystem_errors(action: str) -> Iterator[None]:
    """The disk failing us (full, read-only, gone) is the store being unavailable."""
    try:
        yield
    except OSError as exc:
        raise BlobStoreUnavailable(f"local blob store: cannot {action}: {exc}") from exc


class LocalBlobStore:
    """Blobs as files: `root/<key[:2]>/<key>`, mode 0600, staged under `root/.tmp`
    (the same filesystem, so the final `os.replace` is atomic)."""

    def __init__(self, root: Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = positive_chunk_size(chunk_size)
        self._temp = root / ".tmp"

    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        self._temp.mkdir(mode=0o700, parents=True, exist_ok=True)
        cutoff = time.time() - _STALE_TEMP_SECONDS
        for leftover in self._temp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    async def aclose(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        require_valid_key(key)
        return self.root / key[:2] / key

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        final = self._path(key)
        temp = _TempFile(self._temp / f"{key}.{uuid.uuid4().hex}")
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kai-blob-writer")

        def run(function: Callable[..., None], *args: object) -> asyncio.Future[None]:
            return loop.run_in_executor(writer, function, *args)

        try:
            with _filesystem_errors("create a temp file"):
                await run(temp.open)
            # Small chunks (a multipart parser's) are gathered to about chunk_size
            # so the thread hand-off is paid per megabyte, not per chunk.
            pending: list[bytes] = []
            pending_size = total = 0
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                total += len(chunk)
                if pending_size >= self.chunk_size:
                    with _filesystem_errors("write"):
                        await run(temp.write, pending)
                    pending, pending_size = [], 0
            with _filesystem_errors("write"):
                if pending:
                    await run(temp.write, pending)
                await run(temp.commit, final)
            return total
        except BaseException:
            try:
                await finish_despite_cancellation(run(temp.discard))
            except Exception as exc:  # the original failure matters more
                log.error("could not remove the partial blob %s: %r", temp.path, exc)
            raise
        finally:
            writer.shutdown(wait=False)

    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._open(self._path(key), key)

    @asynccontextmanager
    async def _open(self, path: Path, key: str) -> AsyncIterator[AsyncIterator[bytes]]:
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        except OSError as exc:
            raise BlobStoreUnavailable(f"local blob store: cannot open: {exc}") from exc
        try:
            async with aclosing(self._chunks(file)) as chunks:
                yield chunks
        finally:
            # Closing a file only read from does not wait on the disk.
            file.close()

    async def _chunks(self, file: BinaryIO) -> AsyncGenerator[bytes, None]:
        while True:
            with _filesystem_errors("read"):
                chunk = await asyncio.to_thread(file.read, self.chunk_size)
            if not chunk:
                return
            yield chunk

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with _filesystem_errors("delete"):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        # Write a file rather than ask os.access: a read-only mount, a full disk
        # or a root-owned directory are only certain when writing.
        try:
            fd, name = tempfile.mkstemp(dir=self._temp, prefix="check.")
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise BlobStoreUnavailable(
                f"local blob store {self.root} is not writable: {exc}"
            ) from exc
