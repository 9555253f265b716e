"""Uploads through a real clamd (F5): scanned before they are stored, never "clean" by default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kai.config import Settings
from tests.support.agents import signed_in
from tests.support.apps import client_at, running_app
from tests.support.clamd_server import EICAR, EICAR_SIGNATURE
from tests.support.files import NOTES, nothing_stored, stored_rows
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
