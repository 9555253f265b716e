"""Files over the API with blobs in S3 (moto's real HTTP server): in, out, deleted, and
nothing left behind by a refused or interrupted upload (F8)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from kai.app import create_app
from kai.config import Settings
from tests.support.agents import signed_in
from tests.support.apps import client_at, running_app
from tests.support.files import PNG, relative, stored_rows
from tests.support.graphql_client import GraphQLClient
from tests.support.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server
from tests.support.servers import serve_app
from tests.support.settings import make_settings
from tests.support.uploads import DELETE_FILE, hang_up_half_way, upload, zeros

MiB = 1024 * 1024


@pytest.fixture
async def s3_settings(
    database_url: str, tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    # The store takes credentials the way production does: the standard AWS variables.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    return make_settings(
        database_url,
        tmp_path / "data",
        s3_bucket=await s3_server.create_bucket(),
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region=REGION,
        s3_prefix="files/",
    )


async def bucket_state(s3_server: S3Server, bucket: str) -> tuple[list[str], list[Any]]:
    async with s3_server.client() as s3:
        objects = await s3.list_objects_v2(Bucket=bucket)
        uploads = await s3.list_multipart_uploads(Bucket=bucket)
    return [o["Key"] for o in objects.get("Contents", [])], uploads.get("Uploads", [])


async def test_s3_upload_download_delete(s3_settings: Settings, s3_server: S3Server) -> None:
    assert s3_settings.s3_bucket
    content = bytes(range(256)) * (48 * 1024)  # 12 MiB: more than one 8 MiB part
    content = PNG + content  # a PNG by its magic number
    async with running_app(s3_settings) as app, client_at(app) as client:
        token = await signed_in(client)

        file = (
            await upload(client, token, content, filename="big.png", content_type="image/png")
        ).ok()["uploadFile"]
        keys, open_uploads = await bucket_state(s3_server, s3_settings.s3_bucket)
        downloaded = await client.http.get(relative(file["url"]))

        assert file["checksum"] == hashlib.sha256(content).hexdigest()
        assert len(keys) == 1 and keys[0].startswith("files/")
        assert open_uploads == []
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.content).hexdigest() == file["checksum"]

        (await client.execute(DELETE_FILE, {"id": file["id"]}, token=token)).ok()
        assert await bucket_state(s3_server, s3_settings.s3_bucket) == ([], [])
        assert await stored_rows(app) == 0


async def test_s3_refused_uploads_leave_no_object(
    s3_settings: Settings, s3_server: S3Server
) -> None:
    assert s3_settings.s3_bucket
    async with running_app(s3_settings) as app, client_at(app) as client:
        token = await signed_in(client)

        spoofed = await upload(client, token, PNG, content_type="application/pdf")
        too_big = await upload(client, token, zeros(150 * MiB), content_type=None, chunked=True)

        assert spoofed.codes == ["UNSUPPORTED_MEDIA_TYPE"]
        assert too_big.codes == ["PAYLOAD_TOO_LARGE"]
        assert await bucket_state(s3_server, s3_settings.s3_bucket) == ([], [])
        assert await stored_rows(app) == 0


async def test_F8_s3_upload_cut_off_half_way_leaves_nothing(
    s3_settings: Settings, s3_server: S3Server
) -> None:
    assert s3_settings.s3_bucket
    app = create_app(s3_settings)
    async with serve_app(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            token = await signed_in(GraphQLClient(http))
        await hang_up_half_way(base_url, token, declared=20 * MiB, sent=12 * MiB)
        assert await bucket_state(s3_server, s3_settings.s3_bucket) == ([], [])
        assert await stored_rows(app) == 0
