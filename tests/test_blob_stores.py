"""Blob stores: the same contract on the local disk and on S3 (moto over real HTTP).

What matters most is all-or-nothing: whatever way a put ends early, no file,
temp file, object or multipart upload may be left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import socket
import stat
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path

import pytest

from kai.storage.blobs import (
    BlobMissing,
    BlobStore,
    BlobStoreUnavailable,
    LocalBlobStore,
    valid_key,
)
from kai.storage.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.s3_server import S3Server, s3_server  # noqa: F401 (a fixture)
from tests.support.servers import free_port

MiB = 1 << 20


class Boom(Exception):
    pass


@dataclass
class Subject:
    kind: str
    store: BlobStore
    # Everything the store holds: files (temp ones included), objects, uploads.
    leftovers: Callable[[], Awaitable[list[str]]]


async def _local(tmp_path: Path) -> AsyncIterator[Subject]:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.start()

    async def leftovers() -> list[str]:
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())

    yield Subject("local", store, leftovers)
    await store.aclose()


async def _s3(server: S3Server) -> AsyncIterator[Subject]:
    bucket = await server.create_bucket()
    store = S3BlobStore(bucket, part_size=MIN_PART_SIZE, **server.store_options())
    await store.start()

    async def leftovers() -> list[str]:
        async with server.client() as client:
            objects = await client.list_objects_v2(Bucket=bucket)
            uploads = await client.list_multipart_uploads(Bucket=bucket)
        return [item["Key"] for item in objects.get("Contents", [])] + [
            f"upload:{item['Key']}" for item in uploads.get("Uploads", [])
        ]

    yield Subject("s3", store, leftovers)
    await store.aclose()


@pytest.fixture(params=["local", "s3"])
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Subject]:
    if request.param == "local":
        async for made in _local(tmp_path):
            yield made
    else:
        async for made in _s3(request.getfixturevalue("s3_server")):
            yield made


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def pieces(data: bytes, size: int) -> AsyncGenerator[bytes, None]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: BlobStore, key: str) -> bytes:
    async with store.open(key) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def test_round_trip_small(subject: Subject) -> None:
    assert await subject.store.put("small", pieces(b"hello, world", 5)) == 12
    assert await read_all(subject.store, "small") == b"hello, world"

    assert await subject.store.put("empty", pieces(b"", 1)) == 0
    assert await read_all(subject.store, "empty") == b""

    assert await subject.store.put("small", pieces(b"replaced", 3)) == 8
    assert await read_all(subject.store, "small") == b"replaced"


async def test_round_trip_large(subject: Subject, request: pytest.FixtureRequest) -> None:
    # 25 MiB in 300 KiB pieces: on S3 five parts (part_size 5 MiB), each gathered from pieces.
    data = random_bytes(25 * MiB)
    digest = hashlib.sha256(data).hexdigest()
    assert await subject.store.put("large", pieces(data, 300 * 1024)) == len(data)

    sizes: list[int] = []
    read = hashlib.sha256()
    async with subject.store.open("large") as chunks:
        async for chunk in chunks:
            sizes.append(len(chunk))
            read.update(chunk)
    assert read.hexdigest() == digest
    assert sum(sizes) == len(data)
    assert all(size == MiB for size in sizes[:-1])  # about chunk_size, memory flat

    if subject.kind == "local":
        store = subject.store
        assert isinstance(store, LocalBlobStore)
        path = store.root / "la" / "large"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert await subject.leftovers() == ["la/large"]
    else:
        store = subject.store
        assert isinstance(store, S3BlobStore)
        server: S3Server = request.getfixturevalue("s3_server")
        async with server.client() as client:
            head = await client.head_object(Bucket=store.bucket, Key="large")
            assert head["ETag"].endswith('-5"')  # really a five-part multipart upload
            body = await client.get_object(Bucket=store.bucket, Key="large")
            assert hashlib.sha256(await body["Body"].read()).hexdigest() == digest
        assert await subject.leftovers() == ["large"]


@pytest.mark.parametrize("fail_after", [0, 3 * MiB, 7 * MiB], ids=["at-once", "small", "multipart"])
async def test_iterator_failure_leaves_nothing(subject: Subject, fail_after: int) -> None:
    boom = Boom("the client went away")

    async def failing() -> AsyncIterator[bytes]:
        async for chunk in pieces(random_bytes(fail_after), MiB):
            yield chunk
        raise boom

    with pytest.raises(Boom) as raised:
        await subject.store.put("failed", failing())
    assert raised.value is boom  # unchanged, not wrapped
    assert await subject.leftovers() == []
    with pytest.raises(BlobMissing):
        await read_all(subject.store, "failed")


@pytest.mark.parametrize("cancel_after", [3 * MiB, 7 * MiB], ids=["small", "multipart"])
async def test_cancelled_put_leaves_nothing(subject: Subject, cancel_after: int) -> None:
    reached, never = asyncio.Event(), asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        async for chunk in pieces(random_bytes(cancel_after), MiB):
            yield chunk
        reached.set()
        await never.wait()
        yield b"never"

    task = asyncio.create_task(subject.store.put("cancelled", stalling()))
    await asyncio.wait_for(reached.wait(), timeout=10)
    await asyncio.sleep(0.05)  # let a part upload started at the last chunk finish
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await subject.leftovers() == []


async def test_cancelled_anywhere_leaves_nothing(subject: Subject) -> None:
    """Cancelled at moments spread over the whole put, so also while a write, a part
    upload, the commit or the final PutObject/CompleteMultipartUpload is in flight."""
    data = random_bytes(11 * MiB)

    async def source() -> AsyncGenerator[bytes, None]:
        async with aclosing(pieces(data, MiB)) as chunks:
            async for chunk in chunks:
                yield chunk
                await asyncio.sleep(0)

    async def put() -> None:
        # A cancelled put stops reading its source: closing it is its maker's part.
        async with aclosing(source()) as chunks:
            await subject.store.put("timed", chunks)

    timings = []
    for _ in range(2):  # the first one also opens connections: the second one counts
        started = time.monotonic()
        await put()
        timings.append(time.monotonic() - started)
        await subject.store.delete("timed")
    whole = min(timings)

    cancelled = 0
    for step in range(10):
        task = asyncio.create_task(put())
        await asyncio.sleep(whole * step / 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
            assert await subject.leftovers() == [], f"left behind when cancelled at step {step}"
        else:  # finished before the cancellation came
            await subject.store.delete("timed")
    assert cancelled >= 5


async def test_cancellation_does_not_interrupt_the_clean_up(subject: Subject) -> None:
    """A second cancellation while the put cleans up still leaves nothing behind."""
    reached, never = asyncio.Event(), asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        async for chunk in pieces(random_bytes(7 * MiB), MiB):
            yield chunk
        reached.set()
        await never.wait()
        yield b"never"

    task = asyncio.create_task(subject.store.put("cancelled", stalling()))
    await asyncio.wait_for(reached.wait(), timeout=10)
    task.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await subject.leftovers() == []


async def test_missing_blob(subject: Subject) -> None:
    with pytest.raises(BlobMissing):
        async with subject.store.open("nothing-here"):
            pytest.fail("opened a blob that does not exist")


async def test_delete_is_idempotent(subject: Subject) -> None:
    await subject.store.put("doomed", pieces(b"bytes", 2))
    await subject.store.delete("doomed")
    await subject.store.delete("doomed")
    await subject.store.delete("never-existed")
    assert await subject.leftovers() == []
    with pytest.raises(BlobMissing):
        await read_all(subject.store, "doomed")


async def test_reader_may_stop_early(subject: Subject) -> None:
    await subject.store.put("long", pieces(random_bytes(3 * MiB), MiB))
    async with subject.store.open("long") as chunks:
        async for chunk in chunks:
            assert len(chunk) == MiB
            break
    # The store is still fine afterwards (on S3: the half-read connection was not reused).
    assert len(await read_all(subject.store, "long")) == 3 * MiB


INVALID_KEYS = ["../x", "a/b", "", "x" * 200, ".", "..", "a.b", "a\nb", "ab\n", "é", "/etc"]


async def test_invalid_keys_are_refused(subject: Subject) -> None:
    consumed = False

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal consumed
        consumed = True
        yield b"x"

    for key in INVALID_KEYS:
        assert not valid_key(key)
        with pytest.raises(ValueError):
            await subject.store.put(key, chunks())
        with pytest.raises(ValueError):
            subject.store.open(key)
        with pytest.raises(ValueError):
            await subject.store.delete(key)
    assert not consumed
    assert await subject.leftovers() == []


def test_valid_keys() -> None:
    assert valid_key("a")
    assert valid_key("x" * 128)
    assert valid_key("0123456789abcdef0123456789abcdef")
    assert valid_key("Az_-09")
    assert not valid_key("x" * 129)
    assert not valid_key(None)


async def test_check_passes(subject: Subject) -> None:
    await subject.store.check()


# Local store specifics


async def test_local_check_fails_when_the_directory_is_gone(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    shutil.rmtree(tmp_path / "blobs")
    with pytest.raises(BlobStoreUnavailable):
        await store.check()


async def test_local_check_fails_when_the_root_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_bytes(b"not a directory")
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BlobStoreUnavailable):
        await store.check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
async def test_local_check_fails_when_the_directory_is_read_only(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    (tmp_path / "blobs" / ".tmp").chmod(0o500)
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.check()
        with pytest.raises(BlobStoreUnavailable):
            await store.put("key", pieces(b"data", 2))
    finally:
        (tmp_path / "blobs" / ".tmp").chmod(0o700)


async def test_local_put_fails_cleanly_when_the_disk_fails(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    shutil.rmtree(tmp_path / "blobs" / ".tmp")
    with pytest.raises(BlobStoreUnavailable):
        await store.put("key", pieces(b"data", 2))


async def test_local_start_removes_stale_temp_files(tmp_path: Path) -> None:
    temp = tmp_path / "blobs" / ".tmp"
    temp.mkdir(parents=True)
    (temp / "stale").write_bytes(b"left by a crash")
    (temp / "fresh").write_bytes(b"another process, uploading now")
    two_days_ago = time.time() - 2 * 86400
    os.utime(temp / "stale", (two_days_ago, two_days_ago))
    await LocalBlobStore(tmp_path / "blobs").start()
    assert sorted(path.name for path in temp.iterdir()) == ["fresh"]


async def test_local_put_is_fast_and_does_not_block_the_loop(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    piece = random_bytes(64 * 1024)

    async def hundred_mib() -> AsyncIterator[bytes]:
        for _ in range(1600):
            yield piece
            await asyncio.sleep(0)  # a real source (a socket) gives the loop a turn too

    longest_stall = 0.0

    async def heartbeat() -> None:
        nonlocal longest_stall
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            longest_stall = max(longest_stall, time.monotonic() - before - 0.005)

    beating = asyncio.create_task(heartbeat())
    started = time.monotonic()
    assert await store.put("big", hundred_mib()) == 100 * MiB
    elapsed = time.monotonic() - started
    beating.cancel()
    assert elapsed < 5, f"100 MiB took {elapsed:.2f} s"
    assert longest_stall < 0.1, f"the event loop stalled for {longest_stall:.3f} s"


# S3 specifics


async def test_s3_part_size_below_the_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        S3BlobStore("bucket", part_size=MIN_PART_SIZE - 1)


async def test_s3_missing_bucket_is_unavailable(s3_server: S3Server) -> None:  # noqa: F811
    store = S3BlobStore("kai-no-such-bucket", **s3_server.store_options())
    await store.start()
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.check()
        with pytest.raises(BlobStoreUnavailable):
            await store.put("key", pieces(b"data", 2))
    finally:
        await store.aclose()


async def test_s3_unreachable_endpoint_is_unavailable_quickly() -> None:
    store = S3BlobStore(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        region="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        connect_timeout=0.5,
        read_timeout=0.5,
        max_attempts=1,  # retries back off for up to seconds: right in production, slow here
    )
    await store.start()
    started = time.monotonic()
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.check()
        with pytest.raises(BlobStoreUnavailable):
            await store.put("key", pieces(b"data", 2))
        with pytest.raises(BlobStoreUnavailable):
            await read_all(store, "key")
        with pytest.raises(BlobStoreUnavailable):
            await store.delete("key")
    finally:
        await store.aclose()
    assert time.monotonic() - started < 3


async def test_s3_silent_endpoint_times_out() -> None:
    """A server that takes the connection and never answers: the read timeout ends it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts; nobody ever reads or answers
        port = listener.getsockname()[1]
        store = S3BlobStore(
            "bucket",
            endpoint_url=f"http://127.0.0.1:{port}",
            region="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            connect_timeout=0.5,
            read_timeout=0.3,
            max_attempts=1,
        )
        await store.start()
        started = time.monotonic()
        try:
            with pytest.raises(BlobStoreUnavailable):
                await store.check()
        finally:
            await store.aclose()
        assert time.monotonic() - started < 3


async def test_s3_credentials_come_from_the_standard_aws_variables(
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Nowhere else to find credentials: no files, no profile, no instance metadata.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bucket = await s3_server.create_bucket()

    store = S3BlobStore(bucket, endpoint_url=s3_server.endpoint_url, region="us-east-1")
    await store.start()
    try:
        with pytest.raises(BlobStoreUnavailable):
            await store.put("key", pieces(b"data", 2))
    finally:
        await store.aclose()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
    store = S3BlobStore(bucket, endpoint_url=s3_server.endpoint_url, region="us-east-1")
    await store.start()
    try:
        await store.put("key", pieces(b"data", 2))
        assert await read_all(store, "key") == b"data"
    finally:
        await store.aclose()


async def test_s3_prefix(s3_server: S3Server) -> None:  # noqa: F811
    bucket = await s3_server.create_bucket()
    store = S3BlobStore(bucket, prefix="kai/files/", **s3_server.store_options())
    await store.start()
    try:
        await store.put("key", pieces(b"data", 2))
        async with s3_server.client() as client:
            listed = await client.list_objects_v2(Bucket=bucket)
        assert [item["Key"] for item in listed["Contents"]] == ["kai/files/key"]
        assert await read_all(store, "key") == b"data"
    finally:
        await store.aclose()


async def test_s3_store_must_be_started() -> None:
    store = S3BlobStore("bucket")
    with pytest.raises(RuntimeError):
        await store.check()
