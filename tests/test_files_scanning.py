"""Uploads through a real clamd (F5): scanned as they are staged, published only once clean,
never "clean" by default."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kai.config import Settings
from tests.support.agents import signed_in
from tests.support.apps import client_at, running_app
from tests.support.clamd_server import EICAR, EICAR_SIGNATURE
from tests.support.files import (
    ELF,
    NOTES,
    blobs_on_disk,
    nothing_stored,
    relative,
    stored_rows,
)
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import free_port
from tests.support.settings import make_settings
from tests.support.uploads import upload


@pytest.fixture
def scanning_settings(database_url: str, tmp_path: Path, clamd_url: str) -> Settings:
    return make_settings(database_url, tmp_path / "data", clamd_url=clamd_url)


@pytest.fixture
async def scanning(scanning_settings: Settings) -> AsyncIterator[tuple[Any, GraphQLClient]]:
    async with running_app(scanning_settings) as app, client_at(app) as client:
        yield app, client


async def test_F5_clean_files_are_stored_as_clean(scanning: tuple[Any, GraphQLClient]) -> None:
    _, client = scanning
    token = await signed_in(client)

    file = (await upload(client, token, NOTES)).ok()["uploadFile"]

    assert file["scanStatus"] == "CLEAN"


async def test_F5_eicar_is_rejected_and_nothing_is_stored(
    scanning: tuple[Any, GraphQLClient], scanning_settings: Settings
) -> None:
    app, client = scanning
    token = await signed_in(client)

    result = await upload(client, token, EICAR, filename="eicar.txt")

    assert result.codes == ["MALWARE_DETECTED"]
    assert result.errors[0]["extensions"]["signature"] == EICAR_SIGNATURE
    await nothing_stored(app, scanning_settings)


async def test_F5_eicar_inside_a_bigger_text_is_found(
    scanning: tuple[Any, GraphQLClient], scanning_settings: Settings
) -> None:
    app, client = scanning
    token = await signed_in(client)
    content = b"harmless line\n" * 200_000 + EICAR + b"\nmore\n"

    result = await upload(client, token, content, chunked=True)

    assert result.codes == ["MALWARE_DETECTED"]
    await nothing_stored(app, scanning_settings)


async def test_F5_a_scanner_that_is_down_fails_the_upload(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", clamd_url=f"tcp://127.0.0.1:{free_port()}"
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)

        result = await upload(client, token, NOTES)

        assert result.codes == ["SERVICE_UNAVAILABLE"]
        assert "not stored" in result.errors[0]["message"]
        assert await stored_rows(app) == 0


# -- one pass, and still never visible ----------------------------------------------------


def _published_blobs(settings: Settings) -> set[Path]:
    """Blobs under their keys: what a row may point at (staging is under `.tmp`)."""
    return {path for path in blobs_on_disk(settings) if ".tmp" not in path.parts}


def _staged_blobs(settings: Settings) -> set[Path]:
    return {path for path in blobs_on_disk(settings) if ".tmp" in path.parts}


def _refused_upload(rng: random.Random, kind: str) -> tuple[bytes, str, str]:
    """(content, content type, the code it is refused with) of a `kind` of refusal: big enough
    to be staged in several writes, its trouble anywhere in it."""
    size = rng.randrange(1 << 20, LIMIT - (1 << 16))
    text = bytes(rng.choice(b"abcdefghij klmnop\n") for _ in range(4096)) * (LIMIT // 1024)
    if kind == "malware":
        at = rng.randrange(0, size)
        return text[:at] + EICAR + text[at:size], "text/plain", "MALWARE_DETECTED"
    if kind == "spoofed":  # an executable declared as text
        return ELF + text[:size], "text/plain", "UNSUPPORTED_MEDIA_TYPE"
    return text[: LIMIT + rng.randrange(1, 1 << 20)], "text/plain", "PAYLOAD_TOO_LARGE"


LIMIT = 3 << 20
FILE_URLS = "{ files(first: 10) { edges { node { url } } } }"


@pytest.mark.parametrize("seed", range(6))
async def test_F5_a_refused_upload_is_never_visible_while_it_is_read(
    database_url: str, tmp_path: Path, clamd_url: str, seed: int
) -> None:
    """The body is staged as it is read (one pass: hashed, sniffed, scanned and written
    together), so part of a refused file is on disk for a while. A racer polling all along
    never finds a row, a listed file or a published blob of it; and once refused, the
    staged bytes are gone too. Clean uploads in between show the racer can see files."""
    settings = make_settings(
        database_url, tmp_path / "data", clamd_url=clamd_url, max_upload_bytes=LIMIT
    )
    rng = random.Random(seed)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        seen: dict[str, int] = {"published": 0, "rows": 0, "listed": 0, "staged": 0}
        rounds = 0  # the racer's, finished
        stop = asyncio.Event()

        async def on_disk() -> None:
            # Between any two steps of the upload: a round of the API's below takes long
            # enough, on a busy machine, to miss a whole staging.
            while not stop.is_set():
                seen["published"] += len(_published_blobs(settings))
                seen["staged"] += len(_staged_blobs(settings))
                await asyncio.sleep(0.002)

        async def through_the_api() -> None:
            nonlocal rounds
            while not stop.is_set():
                seen["rows"] += await stored_rows(app)
                listed = await client.execute(FILE_URLS, token=token)
                for edge in listed.ok()["files"]["edges"]:
                    seen["listed"] += 1
                    download = await client.http.get(relative(edge["node"]["url"]))
                    assert download.status_code == 200
                rounds += 1
                await asyncio.sleep(0)

        async def racer() -> None:
            await asyncio.gather(on_disk(), through_the_api())

        kinds = ["malware", "malware", rng.choice(["spoofed", "over the limit"])]
        rng.shuffle(kinds)
        for kind in kinds:
            content, content_type, code = _refused_upload(rng, kind)
            racing = asyncio.create_task(racer())
            result = await upload(client, token, content, content_type=content_type, chunked=True)
            stop.set()
            await racing
            stop.clear()
            assert result.codes == [code], kind
            assert seen["published"] == seen["rows"] == seen["listed"] == 0, (kind, seen)
            await nothing_stored(app, settings)

        # The racer did run while an infected body was on disk, in staging.
        assert seen["staged"] > 0, seen

        # And the racer does see a file that passes, as soon as it is there.
        racing = asyncio.create_task(racer())
        clean = (await upload(client, token, NOTES)).ok()["uploadFile"]
        # A whole round through the API that began after the upload answered (one under
        # way may have looked before), however long a round takes on a busy machine.
        looked = rounds + 2
        async with asyncio.timeout(30):
            while rounds < looked and not racing.done():  # noqa: ASYNC110 (counted rounds)
                await asyncio.sleep(0.01)
        stop.set()
        await racing
        assert clean["scanStatus"] == "CLEAN"
        assert seen["listed"] > 0 and seen["published"] > 0
