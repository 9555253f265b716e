"""What the async and the sync client share: reconnecting, uploads' sources, downloads'
checks, and the task states that end a task."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import httpx

from kai_sdk.client.errors import KaiClientError, KaiConnectionError, KaiProtocolError, error_from

# Where a task's updates end.
TERMINAL_TASK_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})

Source = str | os.PathLike[str] | bytes | BinaryIO


@dataclass
class Reconnects:
    """When to try again after a dropped subscription: 0.1 s, doubling up to 2 s, until
    the connection has stayed away `patience` seconds (None: forever) since the last
    result; then the drop is raised."""

    patience: float | None
    first: float = 0.1
    most: float = 2.0
    _delay: float = field(default=0.0, init=False)
    _since: float | None = field(default=None, init=False)

    def progress(self) -> None:
        """A result arrived: the next drop starts counting afresh."""
        self._delay = 0.0
        self._since = None

    def next_delay(self, error: KaiConnectionError) -> float:
        """How long to wait before reconnecting; raises `error` once past patience."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if self.patience is not None and now - self._since >= self.patience:
            raise error
        self._delay = min(self.most, self._delay * 2 or self.first)
        return self._delay


class CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes were read from it (an upload's
    progress); it can seek when the file can, so a request can be sent again."""

    def __init__(self, raw: IO[bytes], progress: Callable[[int], None] | None) -> None:
        super().__init__()
        self._raw = raw
        self._progress = progress
        self._start = raw.tell() if raw.seekable() else 0
        self.sent = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._raw.seek(offset, whence)
        self.sent = max(0, position - self._start)
        return position

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self.sent += len(chunk)
            if self._progress is not None:
                self._progress(self.sent)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass
class UploadSource:
    """An upload's name, content and declared type, from a path, bytes or a file."""

    filename: str
    content: IO[bytes]
    content_type: str
    opened: IO[bytes] | None  # a file opened here, closed here

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()


def upload_source(
    source: Source,
    *,
    filename: str | None,
    content_type: str | None,
    progress: Callable[[int], None] | None,
) -> UploadSource:
    """`content_type` defaults to application/octet-stream, which declares nothing: the
    server sniffs the type from the content (a declared type must agree with it)."""
    opened: IO[bytes] | None = None
    if isinstance(source, bytes):
        content: IO[bytes] = io.BytesIO(source)
        name = filename or "upload.bin"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        content = opened = path.open("rb")
        name = filename or path.name
    else:
        content = source
        name = filename or Path(str(getattr(source, "name", "upload.bin"))).name
    if progress is not None:
        content = cast(IO[bytes], CountingReader(content, progress))
    return UploadSource(name, content, content_type or "application/octet-stream", opened)


def download_error(response: httpx.Response, body: bytes) -> KaiClientError:
    """What a download answered instead of the file, as an exception."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if isinstance(errors, list) and errors:
        return error_from(errors, status=response.status_code)
    return KaiProtocolError(
        f"the download answered HTTP {response.status_code}",
        status=response.status_code,
        body=body[:500].decode(errors="replace"),
    )


class Checksum:
    """Holds the downloaded bytes to the file's SHA-256 and size."""

    def __init__(self, expected: str, size: int) -> None:
        self._expected = expected
        self._size = size
        self._hash = hashlib.sha256()
        self.received = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.received += len(chunk)

    def check(self) -> None:
        if self.received != self._size or self._hash.hexdigest() != self._expected:
            raise KaiProtocolError(
                f"the download is not the file: {self.received} of {self._size} bytes, "
                f"SHA-256 {self._hash.hexdigest()} where the file's is {self._expected}"
            )
