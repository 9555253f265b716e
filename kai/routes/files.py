"""`GET /files/{id}`: a file's bytes, for a valid signed URL or a bearer token (F6, F7).

Served as an attachment with the sniffed type and `nosniff`, so a browser never
renders an upload as a page of this origin; the bytes are checked against the
upload's checksum as they stream.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from kai.context import bearer_credential
from kai.db import database_unavailable
from kai.errors import ErrorCode, KaiError
from kai.models.file import StoredFile
from kai.security.audit import Auditor
from kai.services.file_queries import visible_to
from kai.services.shared import Services
from kai.storage.blobs import BlobMissing, BlobStoreUnavailable

log = logging.getLogger(__name__)

PERMISSION = "file.download"
_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


def _error(code: ErrorCode, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code.value}}]},
        status_code=_STATUS.get(code, 400),
        headers={"cache-control": "no-store"},
    )


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, and the exact name in filename*."""
    fallback = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
        for char in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def download_file(request: Request) -> Response:
    services: Services = request.app.state.services
    file_id = request.path_params["file_id"]
    try:
        row = await services.files.get(file_id=file_id)
        refusal = await _refusal(request, services, file_id, row)
    except Exception as exc:  # the database away: a 503 in the API's shape, not a bare 500
        if not database_unavailable(exc):
            raise
        log.warning("database unavailable for download of %s: %r", file_id, exc)
        return _error(
            ErrorCode.SERVICE_UNAVAILABLE, "A backing service is unavailable; retry shortly."
        )
    if refusal is not None:
        return refusal
    assert row is not None
    etag = f'"{row.checksum}"'
    headers = {
        "content-type": _content_type(row.mime_type),
        "content-disposition": content_disposition(row.original_name),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, no-cache",
        "etag": etag,
    }
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    headers["content-length"] = str(row.size)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers)
    # The blob is opened before the status line goes out, so a missing or unreachable
    # blob is a proper error response; the stack closes it when the body ends.
    stack = AsyncExitStack()
    try:
        chunks = await stack.enter_async_context(services.files.download(row))
    except BlobMissing:
        await stack.aclose()
        log.error("file %s has a row but no blob %s", row.id, row.storage_key)
        return _error(ErrorCode.NOT_FOUND, "File content not found.")
    except BlobStoreUnavailable as exc:
        await stack.aclose()
        log.error("blob store unavailable for download of %s: %r", row.id, exc)
        return _error(ErrorCode.SERVICE_UNAVAILABLE, "File storage is unavailable.")
    return _ClosingStreamingResponse(_closing(chunks, stack), headers=headers)


class _ClosingStreamingResponse(StreamingResponse):
    """Starlette abandons the body iterator where it stands when the client goes mid-send;
    this closes it (and so the blob) as soon as the response is over, not when collected."""

    body_iterator: AsyncGenerator[bytes, None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()


async def _closing(
    chunks: AsyncIterator[bytes], stack: AsyncExitStack
) -> AsyncGenerator[bytes, None]:
    async with stack:
        async for chunk in chunks:
            yield chunk


def _content_type(mime_type: str) -> str:
    return f"{mime_type}; charset=utf-8" if mime_type == "text/plain" else mime_type


async def _refusal(
    request: Request, services: Services, file_id: str, row: StoredFile | None
) -> Response | None:
    """None when the caller may have the file: a valid signature, or a bearer token
    whose user owns it (or is ADMIN) with file.download; audited like every check."""
    expires = request.query_params.get("expires")
    signature = request.query_params.get("signature")
    if expires is not None or signature is not None:
        if not services.files.signer.verify(file_id, expires or "", signature or ""):
            return _error(ErrorCode.FORBIDDEN, "The download link is invalid or has expired.")
        if row is None:
            return _error(ErrorCode.NOT_FOUND, "File not found.")
        return None
    credential = bearer_credential(request.headers.get("authorization"))
    if credential is None:
        return _error(
            ErrorCode.UNAUTHENTICATED, "Use the file's signed url, or send a bearer token."
        )
    try:
        principal = await services.authenticator.authenticate(credential)
    except KaiError as exc:
        return _error(exc.code, exc.message)
    auditor = Auditor(services.sessionmaker, request.scope.get("state", {}).get("request_id"))
    allowed = principal.can(PERMISSION)
    visible = row is not None and visible_to(principal, row)
    auditor.record(principal, PERMISSION, f"file:{file_id}", allowed and visible)
    await auditor.flush()
    if not allowed:
        return _error(ErrorCode.FORBIDDEN, f"Missing permission: {PERMISSION}.")
    if not visible:
        return _error(ErrorCode.NOT_FOUND, "File not found.")
    return None
