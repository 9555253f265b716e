"""A real S3 endpoint for tests: moto's HTTP server, in a thread of the test process.

The store under test talks to it over HTTP like to AWS, so signing, retries,
streaming bodies and multipart uploads all run for real. moto enforces S3's
5 MiB minimum for every part but the last, as AWS does.

Use it from a test module with

    from tests.support.s3_server import S3Server, s3_server  # noqa: F401 (a fixture)

and give each test its own bucket (`await s3_server.create_bucket()`): the
server, and what is stored in it, lives for the whole session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import aioboto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
# moto accepts any credentials; passing them keeps the real AWS variables (and
# any real account) out of the tests without touching os.environ.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    # One session for the run: a new one loads botocore's service models again.
    session: aioboto3.Session = field(default_factory=aioboto3.Session)

    def store_options(self) -> dict[str, Any]:
        """Keyword arguments for S3BlobStore that point it at this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        """A plain aiobotocore S3 client, to look behind the store's back."""
        async with self.session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        ) as client:
            yield client

    async def create_bucket(self) -> str:
        name = f"kai-test-{uuid.uuid4().hex[:16]}"
        async with self.client() as client:
            await client.create_bucket(Bucket=name)
        return name


@contextmanager
def moto_s3_server() -> Iterator[S3Server]:
    # werkzeug logs every request at INFO: noise around a failing test's output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server
