"""Files over the API on the embedded default (local blobs): upload, read, download, delete,
and every kind of bad input of docs/security.md's Files section."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kai.app import create_app
from kai.config import Settings
from kai.services.file import TamperedBlob
from kai.storage.names import MAX_NAME_CHARS
from tests.support.agents import DELETE, create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.files import (
    ELF,
    NOTES,
    PDF,
    PNG,
    blobs_on_disk,
    nothing_stored,
    relative,
    stored_rows,
)
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.servers import serve_app
from tests.support.settings import make_settings
from tests.support.uploads import DELETE_FILE, FILE, FILES, hang_up_half_way, upload, zeros

MiB = 1024 * 1024
NODE = "query Node($id: ID!) { node(id: $id) { id ... on File { originalName } } }"
AGENT_FILES = "query AgentFiles($id: ID!) { agent(id: $id) { files { id originalName } } }"


async def test_upload_stores_sniffed_type_checksum_and_sanitised_name(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    token = await signed_in(client)

    result = await upload(client, token, NOTES, filename="../../notes.txt")

    file = result.ok()["uploadFile"]
    assert file["originalName"] == "notes.txt"
    assert file["size"] == len(NOTES)
    assert file["mimeType"] == "text/plain"
    assert file["checksum"] == hashlib.sha256(NOTES).hexdigest()
    assert file["scanStatus"] == "SKIPPED"  # no scanner configured (development)
    assert file["uploadedBy"]["email"] == "owner@example.com"
    assert file["agent"] is None
    assert file["id"].startswith("fil_")
    [blob] = blobs_on_disk(settings)
    assert blob.read_bytes() == NOTES
    assert "notes" not in str(blob)  # storage keys are the server's, never the client's name
    again = (await client.execute(FILE, {"id": file["id"]}, token=token)).ok()["file"]
    assert again["checksum"] == file["checksum"]
    listed = nodes((await client.execute(FILES, token=token)).ok()["files"])
    assert [f["id"] for f in listed] == [file["id"]]
    node = (await client.execute(NODE, {"id": file["id"]}, token=token)).ok()["node"]
    assert node == {"id": file["id"], "originalName": "notes.txt"}


async def test_signed_url_downloads_with_safe_headers(client: GraphQLClient) -> None:
    token = await signed_in(client)
    file = (await upload(client, token, NOTES, filename="naïve résumé.txt")).ok()["uploadFile"]

    response = await client.http.get(relative(file["url"]))

    assert response.status_code == 200
    assert response.content == NOTES
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == str(len(NOTES))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{file["checksum"]}"'
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt" in disposition
    cached = await client.http.get(
        relative(file["url"]), headers={"if-none-match": response.headers["etag"]}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    head = await client.http.head(relative(file["url"]))
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(NOTES))


async def test_bearer_token_downloads_only_the_owners_file(client: GraphQLClient) -> None:
    owner = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    file = (await upload(client, owner, NOTES)).ok()["uploadFile"]
    path = f"/files/{file['id']}"

    mine = await client.http.get(path, headers={"authorization": f"Bearer {owner}"})
    theirs = await client.http.get(path, headers={"authorization": f"Bearer {other}"})
    anonymous = await client.http.get(path)
    missing = await client.http.get("/files/fil_nope", headers={"authorization": f"Bearer {owner}"})

    assert mine.status_code == 200
    assert mine.content == NOTES
    assert theirs.status_code == 404
    assert theirs.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert missing.status_code == 404


async def test_F7_expired_or_forged_signatures_are_refused(app: Any, client: GraphQLClient) -> None:
    token = await signed_in(client)
    first = (await upload(client, token, NOTES)).ok()["uploadFile"]
    second = (await upload(client, token, b"other\n")).ok()["uploadFile"]
    query = parse_qs(urlsplit(first["url"]).query)
    expires, signature = query["expires"][0], query["signature"][0]
    signer = services_of(app).files.signer
    expired = signer.url(first["id"], now=time.time() - signer.ttl_seconds - 5)

    attempts = {
        "forged": f"/files/{first['id']}?expires={expires}&signature={'A' * len(signature)}",
        "extended": f"/files/{first['id']}?expires={int(expires) + 99}&signature={signature}",
        "other file": f"/files/{second['id']}?expires={expires}&signature={signature}",
        "expired": relative(expired),
        "no signature": f"/files/{first['id']}?expires={expires}",
    }
    for name, path in attempts.items():
        response = await client.http.get(path)
        assert response.status_code == 403, name
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", name


async def test_G10_another_users_file_is_not_found(client: GraphQLClient) -> None:
    admin = await signed_in(client, "admin@example.com")  # the first user is ADMIN
    owner = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    file = (await upload(client, owner, NOTES)).ok()["uploadFile"]

    for query, variables in [
        (FILE, {"id": file["id"]}),
        (NODE, {"id": file["id"]}),
        (DELETE_FILE, {"id": file["id"]}),
    ]:
        result = await client.execute(query, variables, token=other)
        assert result.codes == ["NOT_FOUND"], query
    assert nodes((await client.execute(FILES, token=other)).ok()["files"]) == []
    everyone = nodes((await client.execute(FILES, token=admin)).ok()["files"])
    assert [f["id"] for f in everyone] == [file["id"]]
    assert (await client.execute(FILE, {"id": file["id"]}, token=owner)).ok()["file"]


async def test_files_of_an_agent(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    other_agent = await create_echo(client, token, name="echo-2")
    mine = (await upload(client, token, NOTES, agent_id=agent["id"])).ok()["uploadFile"]
    await upload(client, token, b"elsewhere\n", agent_id=other_agent["id"])
    await upload(client, token, b"no agent\n")

    assert mine["agent"] == {"id": agent["id"]}
    of_agent = (await client.execute(FILES, {"agentId": agent["id"]}, token=token)).ok()
    assert [f["id"] for f in nodes(of_agent["files"])] == [mine["id"]]
    nested = (await client.execute(AGENT_FILES, {"id": agent["id"]}, token=token)).ok()
    assert [f["id"] for f in nested["agent"]["files"]] == [mine["id"]]
    assert len(nodes((await client.execute(FILES, token=token)).ok()["files"])) == 3


async def test_upload_to_someone_elses_agent_is_not_found(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    owner = await signed_in(client)
    other = await signed_in(client, "other@example.com")
    agent = await create_echo(client, owner)

    result = await upload(client, other, NOTES, agent_id=agent["id"])

    assert result.codes == ["NOT_FOUND"]
    await nothing_stored(app, settings)


async def test_delete_file_removes_row_and_blob(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    token = await signed_in(client)
    file = (await upload(client, token, NOTES)).ok()["uploadFile"]

    deleted = (await client.execute(DELETE_FILE, {"id": file["id"]}, token=token)).ok()

    assert deleted["deleteFile"] == file["id"]
    await nothing_stored(app, settings)
    assert (await client.execute(FILE, {"id": file["id"]}, token=token)).codes == ["NOT_FOUND"]
    assert (await client.http.get(relative(file["url"]))).status_code == 404


async def test_delete_agent_deletes_its_files(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    admin = await signed_in(client, "admin@example.com")  # DEVELOPER and ADMIN may delete agents
    agent = await create_echo(client, admin)
    await upload(client, admin, NOTES, agent_id=agent["id"])
    await upload(client, admin, b"second\n", agent_id=agent["id"])

    (await client.execute(DELETE, {"id": agent["id"]}, token=admin)).ok()

    await nothing_stored(app, settings)


async def test_F1_150_MiB_with_content_length_is_refused_before_reading(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    token = await signed_in(client)
    read = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal read
        for chunk in zeros(150 * MiB):
            read += len(chunk)
            yield chunk

    boundary = "b0undary"
    started = time.monotonic()
    response = await client.http.post(
        "/graphql",
        content=counted(),
        headers={
            "authorization": f"Bearer {token}",
            "content-type": f"multipart/form-data; boundary={boundary}",
            "content-length": str(150 * MiB),
        },
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert read < 150 * MiB  # refused on the declared length, not after reading it all
    assert time.monotonic() - started < 10
    await nothing_stored(app, settings)


async def test_F1_150_MiB_chunked_is_cut_off_while_streaming(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    token = await signed_in(client)

    result = await upload(
        client, token, zeros(150 * MiB), filename="big.bin", content_type=None, chunked=True
    )

    assert result.status == 413
    assert result.codes == ["PAYLOAD_TOO_LARGE"]
    await nothing_stored(app, settings)


async def test_F1_exact_limit_is_checked_on_the_file_itself(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", max_upload_bytes=64 * 1024)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)

        at_limit = await upload(client, token, b"a" * (64 * 1024))
        over = await upload(client, token, b"a" * (64 * 1024 + 1))
        over_chunked = await upload(client, token, [b"a" * 1024] * 65, chunked=True)

        assert at_limit.ok()["uploadFile"]["size"] == 64 * 1024
        assert over.codes == ["PAYLOAD_TOO_LARGE"]
        assert over_chunked.codes == ["PAYLOAD_TOO_LARGE"]
        assert await stored_rows(app) == 1
        assert len(blobs_on_disk(settings)) == 1


@pytest.mark.parametrize(
    ("content", "filename", "declared"),
    [
        (PNG, "image.pdf", "application/pdf"),
        (PDF, "doc.png", "image/png"),
        (ELF, "tool", "application/octet-stream"),
        (ELF, "tool.txt", "text/plain"),
        (b"MZ\x90\0" + b"\0" * 200, "setup.exe", "application/x-msdownload"),
        (b"not json", "data.json", "application/json"),
    ],
)
async def test_F2_spoofed_or_disallowed_types_are_refused(
    client: GraphQLClient,
    app: Any,
    settings: Settings,
    content: bytes,
    filename: str,
    declared: str,
) -> None:
    token = await signed_in(client)

    result = await upload(client, token, content, filename=filename, content_type=declared)

    assert result.codes == ["UNSUPPORTED_MEDIA_TYPE"], result.body
    await nothing_stored(app, settings)


async def test_F2_types_the_content_bears_out_are_stored(client: GraphQLClient) -> None:
    token = await signed_in(client)
    cases = [
        (PNG, "image/png", "image/png"),
        (PDF, "application/pdf", "application/pdf"),
        (b'{"a": [1, 2]}', "application/json", "application/json"),
        (b'{"a": [1, 2]}', None, "application/json"),
        (PNG, "application/octet-stream", "image/png"),
    ]
    for content, declared, expected in cases:
        result = await upload(client, token, content, content_type=declared)
        assert result.ok()["uploadFile"]["mimeType"] == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\nb.txt", "a_b.txt"),
        ("C:\\Users\\me\\report.txt", "report.txt"),
        ("invoice\u202etxt.exe", "invoice_txt.exe"),
    ],
)
async def test_F3_display_names_are_sanitised(
    client: GraphQLClient, given: str, expected: str
) -> None:
    token = await signed_in(client)

    file = (await upload(client, token, NOTES, filename=given)).ok()["uploadFile"]

    assert file["originalName"] == expected
    disposition = (await client.http.get(relative(file["url"]))).headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "\u202e" not in disposition


async def test_F3_control_characters_in_a_multipart_filename_are_removed(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)

    file = (await upload(client, token, NOTES, filename="a\tb\x1b.txt")).ok()["uploadFile"]

    assert file["originalName"] == "a_b_.txt"


async def test_F3_a_raw_crlf_in_the_filename_is_a_bad_request(
    client: GraphQLClient, app: Any, settings: Settings
) -> None:
    """CR LF ends a multipart header line: the body does not parse, and says so."""
    token = await signed_in(client)

    result = await upload(client, token, NOTES, filename="a\r\nb.txt")

    assert result.status == 400
    assert result.codes == ["BAD_USER_INPUT"]
    await nothing_stored(app, settings)


async def test_F3_a_1000_character_name_is_cut(client: GraphQLClient) -> None:
    token = await signed_in(client)

    file = (await upload(client, token, NOTES, filename="n" * 996 + ".txt")).ok()["uploadFile"]

    assert len(file["originalName"]) == MAX_NAME_CHARS
    assert file["originalName"].endswith(".txt")


async def test_F6_a_tampered_blob_fails_the_download_loudly(
    client: GraphQLClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    token = await signed_in(client)
    content = os.urandom(3 * MiB).hex().encode()  # text, several chunks
    file = (await upload(client, token, content)).ok()["uploadFile"]
    [blob] = blobs_on_disk(settings)
    tampered = bytearray(blob.read_bytes())
    tampered[-1] ^= 0x01
    blob.write_bytes(bytes(tampered))
    received = bytearray()

    async def download() -> None:
        async with client.http.stream("GET", relative(file["url"])) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                received.extend(chunk)

    with caplog.at_level(logging.ERROR, logger="kai"), pytest.raises(TamperedBlob):
        await download()

    assert len(received) < len(content)  # never the whole (wrong) content
    assert any("does not match its checksum" in r.getMessage() for r in caplog.records)


async def test_G9_multipart_needs_a_token_or_a_preflight_header(client: GraphQLClient) -> None:
    plain = await upload(client, None, NOTES)
    preflighted = await upload(client, None, NOTES, headers={"apollo-require-preflight": "true"})

    assert plain.status == 400
    assert "CSRF" in plain.errors[0]["message"]
    # Past the CSRF rule, the upload still needs credentials.
    assert preflighted.codes == ["UNAUTHENTICATED"]


async def test_upload_needs_the_permission(client: GraphQLClient, app: Any) -> None:
    await signed_in(client, "admin@example.com")
    owner = await signed_in(client)
    key = await client.create_api_key(owner, permissions=["agent.read"])

    result = await upload(client, key["secret"], NOTES)

    assert result.codes == ["FORBIDDEN"]


async def test_F8_an_upload_cut_off_half_way_leaves_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real server and a client that hangs up half way through its body."""
    settings = make_settings(database_url, tmp_path / "data")
    # The server's temporary files go to a directory of the test's own: in the shared one,
    # other processes' files (a browser's, a parallel run's) come and go meanwhile.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    app = create_app(settings)
    async with serve_app(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            token = await signed_in(GraphQLClient(http))
        await hang_up_half_way(base_url, token, declared=8 * MiB, sent=4 * MiB)
        await nothing_stored(app, settings)
    assert list(temp.iterdir()) == []


async def test_J2_one_file_mapped_to_two_uploads_stores_it_twice_whole(
    client: GraphQLClient, app: Any
) -> None:
    """The multipart spec lets one file fill several variables: each upload reads all of
    it (the second read an exhausted stream: INTERNAL_SERVER_ERROR after the first was
    stored)."""
    token = await signed_in(client)
    content = b"the same notes, twice\n" * 100
    query = """
    mutation Twice($a: Upload!, $b: Upload!) {
      first: uploadFile(file: $a) { id size checksum }
      second: uploadFile(file: $b) { id size checksum }
    }"""
    boundary = "kai-twice"
    operations = {"query": query, "variables": {"a": None, "b": None}}
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            f"{json.dumps(operations)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
            f"{json.dumps({'0': ['variables.a', 'variables.b']})}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="n.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = await client.http.post(
        "/graphql",
        content=body,
        headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "authorization": f"Bearer {token}",
            "apollo-require-preflight": "true",
        },
    )

    data = response.json()["data"]
    assert "errors" not in response.json(), response.json()
    checksum = hashlib.sha256(content).hexdigest()
    for stored in (data["first"], data["second"]):
        assert (stored["size"], stored["checksum"]) == (len(content), checksum)
    assert data["first"]["id"] != data["second"]["id"]
