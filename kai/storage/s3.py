"""Blobs in an S3 bucket (or anything speaking S3: MinIO, Ceph, R2...), on aioboto3.

A blob smaller than one part is a single PutObject. A larger one is a multipart
upload of `part_size` parts, buffered one at a time, so memory stays at about a
part per upload whatever the file's size; S3 publishes the object only when the
upload completes, and a failure or cancellation before that aborts the upload
(which S3 would otherwise keep, and bill, forever). An upload that a crashed
process could not abort is what the bucket's AbortIncompleteMultipartUpload
lifecycle rule is for.

Credentials, when not given, come from the usual AWS sources (environment,
shared files, instance or task roles).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, aclosing, asynccontextmanager
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from kai.storage.blobs import (
    DEFAULT_CHUNK_SIZE,
    BlobMissing,
    BlobStoreUnavailable,
    finish_despite_cancellation,
    positive_chunk_size,
    require_valid_key,
)

log = logging.getLogger(__name__)

# S3 refuses a multipart upload whose parts (all but the last) are smaller.
MIN_PART_SIZE = 5 << 20
DEFAULT_PART_SIZE = 8 << 20

# Errors that say the store cannot serve us now, or refuses our configuration:
# an operator fixes them, a retry by the client might succeed; not a bug here.
_UNAVAILABLE_CODES = frozenset(
    {"NoSuchBucket", "RequestTimeout", "SlowDown", "Throttling", "ThrottlingException"}
)


def _client_error_status(exc: ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return int(status or 0)


def _client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _unavailable_errors(action: str) -> Iterator[None]:
    """Network failures, timeouts, 5xx, throttling, bad credentials, a missing bucket
    → BlobStoreUnavailable. Other client errors are bugs and propagate as they are."""
    try:
        yield
    except (
        BotocoreConnectionError,
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        PartialCredentialsError,
    ) as exc:
        raise BlobStoreUnavailable(f"S3 {action}: {exc}") from exc
    except ClientError as exc:
        status = _client_error_status(exc)
        if status >= 500 or status == 403 or _client_error_code(exc) in _UNAVAILABLE_CODES:
            raise BlobStoreUnavailable(f"S3 {action}: {exc}") from exc
        raise


class S3BlobStore:
    """Blob `key` is object `prefix + key` in `bucket`."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        part_size: int = DEFAULT_PART_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
        max_pool_connections: int = 64,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.chunk_size = positive_chunk_size(chunk_size)
        self._endpoint_url = endpoint_url
        self._region = region
        self._aws_access_key_id = aws_access_key_id
        self._aws_secret_access_key = aws_secret_access_key
        self._config = AioConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # max_attempts counts the first try (in the client config, botocore's own
            # "max_attempts" would count only the retries). "standard" retries
            # connection errors, 5xx and throttling with jittered backoff.
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            # A download holds its connection for as long as the client takes to
            # read it: the default pool of 10 would make the 11th slow reader wait.
            max_pool_connections=max_pool_connections,
        )
        self._stack: AsyncExitStack | None = None
        # An aiobotocore S3 client; Any because types-aiobotocore-s3 is not installed.
        self._client: Any = None

    async def start(self) -> None:
        if self._client is not None:
            return
        stack = AsyncExitStack()
        session = aioboto3.Session()
        self._client = await stack.enter_async_context(
            session.client(
                "s3",
                endpoint_url=self._endpoint_url,
                region_name=self._region,
                aws_access_key_id=self._aws_access_key_id,
                aws_secret_access_key=self._aws_secret_access_key,
                config=self._config,
            )
        )
        self._stack = stack

    async def aclose(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def _s3(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore used before start()")
        return self._client

    def _name(self, key: str) -> str:
        return self.prefix + require_valid_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        upload = _Upload(self._s3(), self.bucket, self._name(key))
        try:
            pending: list[bytes] = []
            pending_size = total = 0
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                total += len(chunk)
                if pending_size >= self.part_size:
                    data = b"".join(pending)
                    pending, pending_size = [], 0
                    await upload.add_part(data)
            if upload.upload_id is None:  # smaller than one part
                await upload.put_whole(b"".join(pending))
            else:
                if pending:
                    await upload.add_part(b"".join(pending))
                await upload.complete()
            return total
        except BaseException:
            await finish_despite_cancellation(upload.undo())
            raise

    def open(self, key: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._open(self._name(key), key)

    @asynccontextmanager
    async def _open(self, name: str, key: str) -> AsyncIterator[AsyncIterator[bytes]]:
        try:
            with _unavailable_errors("get object"):
                response = await self._s3().get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if _client_error_code(exc) in ("NoSuchKey", "404"):
                raise BlobMissing(key) from None
            raise
        body = response["Body"]
        try:
            async with aclosing(self._chunks(body)) as chunks:
                yield chunks
        finally:
            # Unread bytes make the connection unusable for the pool: close it.
            body.close()

    async def _chunks(self, body: Any) -> AsyncGenerator[bytes, None]:
        # The body gives whatever the socket had (often 64 KiB): gather to chunk_size.
        pending: list[bytes] = []
        pending_size = 0
        while True:
            with _unavailable_errors("read object"):
                piece = await body.read(self.chunk_size - pending_size)
            if not piece:
                break
            pending.append(piece)
            pending_size += len(piece)
            if pending_size >= self.chunk_size:
                yield b"".join(pending)
                pending, pending_size = [], 0
        if pending:
            yield b"".join(pending)

    async def delete(self, key: str) -> None:
        name = self._name(key)
        with _unavailable_errors("delete object"):
            await self._s3().delete_object(Bucket=self.bucket, Key=name)

    async def check(self) -> None:
        try:
            with _unavailable_errors("head bucket"):
                await self._s3().head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # HEAD answers carry no error body: a missing bucket is just "404".
            raise BlobStoreUnavailable(
                f"S3 bucket {self.bucket!r} is not usable: {_client_error_code(exc)}"
            ) from exc


class _Upload:
    """The S3 requests of one put, and what they have created.

    Each request runs to its end even if the put is cancelled meanwhile (the
    client's timeouts bound the wait): only then is it known what S3 holds (an
    upload id, a part, the object) so that `undo` can take it all back. A request
    cut off mid-flight could create an upload nobody knows the id of, or an
    object after `undo` has deleted it.
    """

    def __init__(self, client: Any, bucket: str, name: str) -> None:
        self.client = client
        self.bucket = bucket
        self.name = name
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        # Once PutObject or CompleteMultipartUpload is sent, the object may exist
        # even if no answer comes back.
        self.published = False

    async def add_part(self, data: bytes) -> None:
        if self.upload_id is None:
            await _request("create multipart upload", self._create())
        await _request("upload part", self._upload_part(data))

    async def put_whole(self, data: bytes) -> None:
        self.published = True
        await _request(
            "put object", self.client.put_object(Bucket=self.bucket, Key=self.name, Body=data)
        )

    async def complete(self) -> None:
        self.published = True
        await _request(
            "complete multipart upload",
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.name,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            ),
        )

    async def _create(self) -> None:
        response = await self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.name, ChecksumAlgorithm="CRC32"
        )
        self.upload_id = str(response["UploadId"])

    async def _upload_part(self, data: bytes) -> None:
        number = len(self.parts) + 1
        response = await self.client.upload_part(
            Bucket=self.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        # An upload created with a checksum algorithm is completed with each
        # part's checksum (as boto3's own transfer manager does).
        part: dict[str, Any] = {"PartNumber": number, "ETag": response["ETag"]}
        if "ChecksumCRC32" in response:
            part["ChecksumCRC32"] = response["ChecksumCRC32"]
        self.parts.append(part)

    async def undo(self) -> None:
        """Best effort: the failure that brought us here is what the caller must see."""
        if self.upload_id is not None:
            try:
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.name, UploadId=self.upload_id
                )
            except Exception as exc:
                log.error(
                    "could not abort multipart upload %s of %s: %r", self.upload_id, self.name, exc
                )
        if self.published:
            try:
                await self.client.delete_object(Bucket=self.bucket, Key=self.name)
            except Exception as exc:
                log.error("could not remove %s after a failed upload: %r", self.name, exc)


async def _request(action: str, request: Awaitable[None]) -> None:
    with _unavailable_errors(action):
        await finish_despite_cancellation(request)
