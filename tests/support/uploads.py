"""Uploads as clients send them: the GraphQL multipart request spec, streamed or not."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any
from urllib.parse import urlsplit

from tests.support.graphql_client import GraphQLClient, Result

FILE_FIELDS = """
  id originalName size mimeType checksum scanStatus uploadedAt url
  uploadedBy { id email } agent { id }
"""
UPLOAD = f"""
mutation Upload($file: Upload!, $agentId: ID) {{
  uploadFile(file: $file, agentId: $agentId) {{ {FILE_FIELDS} }}
}}
"""
FILE = f"query File($id: ID!) {{ file(id: $id) {{ {FILE_FIELDS} }} }}"
FILES = """
query Files($agentId: ID) {
  files(filter: { agentId: $agentId }) { edges { node { id originalName } } }
}
"""
DELETE_FILE = "mutation DeleteFile($id: ID!) { deleteFile(id: $id) }"
SEARCH = """
query Search($query: String!, $agentId: ID, $limit: Int) {
  search(query: $query, agentId: $agentId, limit: $limit) { chunk score file { id originalName } }
}
"""


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def multipart_head(
    boundary: str,
    *,
    filename: str,
    content_type: str | None,
    agent_id: str | None = None,
    query: str = UPLOAD,
) -> bytes:
    operations = {"query": query, "variables": {"file": None, "agentId": agent_id}}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f"{json.dumps(operations)}\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        f"{json.dumps({'0': ['variables.file']})}\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; '
        f'filename="{_quoted(filename)}"\r\n',
    ]
    if content_type is not None:
        parts.append(f"Content-Type: {content_type}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode()


def multipart_tail(boundary: str) -> bytes:
    return f"\r\n--{boundary}--\r\n".encode()


async def upload(
    client: GraphQLClient,
    token: str | None,
    content: bytes | Iterable[bytes],
    *,
    filename: str = "notes.txt",
    content_type: str | None = "text/plain",
    agent_id: str | None = None,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
) -> Result:
    """POST one file; `chunked` streams it with no Content-Length, as a lying client may."""
    boundary = "kai-" + secrets.token_hex(8)
    head = multipart_head(boundary, filename=filename, content_type=content_type, agent_id=agent_id)
    tail = multipart_tail(boundary)
    pieces = [content] if isinstance(content, bytes) else content
    all_headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    if token is not None:
        all_headers["authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})

    async def stream() -> AsyncGenerator[bytes, None]:
        yield head
        for piece in pieces:
            yield piece
        yield tail

    body: Any
    if chunked:
        # httpx stops reading a body the server refused half way, and leaves it open.
        async with aclosing(stream()) as body:
            response = await client.http.post("/graphql", content=body, headers=all_headers)
    else:
        body = head + b"".join(pieces) + tail
        response = await client.http.post("/graphql", content=body, headers=all_headers)
    try:
        payload = response.json()
    except ValueError:
        payload = {"raw": response.text}
    return Result(response.status_code, payload, response.headers)


def zeros(total: int, chunk: int = 1 << 20) -> Iterable[bytes]:
    block = b"\0" * chunk
    sent = 0
    while sent < total:
        size = min(chunk, total - sent)
        yield block[:size]
        sent += size


async def hang_up_half_way(base_url: str, token: str, *, declared: int, sent: int) -> None:
    """A client that declares a `declared`-byte text upload, sends `sent` bytes of it and
    hangs up; returns once the server had time to notice."""
    split = urlsplit(base_url)
    assert split.hostname and split.port
    _reader, writer = await asyncio.open_connection(split.hostname, split.port)
    head = multipart_head("cut", filename="half.txt", content_type="text/plain")
    writer.write(
        (
            "POST /graphql HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=cut\r\n"
            f"Content-Length: {len(head) + declared}\r\n\r\n"
        ).encode()
        + head
    )
    for chunk in zeros(sent):
        writer.write(chunk.replace(b"\0", b"a"))
        await writer.drain()
    writer.close()
    await asyncio.sleep(0.5)
