"""Files: upload (hash, sniff, scan and stage in one pass, then the row), list, download,
delete, search.

The order of an upload is the point (F2, F5, F8): the body is read once, and each chunk is
hashed, sniffed, sent to the scanner and written to the blob store's staging area (a temp
file, an S3 multipart upload) on the way. The blob is published under its key only after
the last chunk, once the scanner's verdict and the type check pass; the row, which is what
makes a file visible, comes after the blob; and a failure at any step removes what the
earlier steps made. So nothing that is infected, spoofed or over the limit is ever listed
or downloadable, and a row always has its blob.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import transaction
from kai.errors import (
    BadUserInput,
    MalwareDetected,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from kai.models.base import utcnow
from kai.models.file import ScanStatus, StoredFile
from kai.observability import metrics
from kai.security.principal import Principal
from kai.services.file_queries import FileQueries
from kai.services.pagination import Pager
from kai.services.task import TaskService
from kai.storage.blobs import BlobStore, BlobStoreUnavailable
from kai.storage.names import sanitise_filename
from kai.storage.scanner import Scanner, ScannerUnavailable, ScanStream
from kai.storage.search_index import SearchIndex
from kai.storage.signing import DownloadSigner
from kai.storage.sniff import HEAD_BYTES, ContentSniffer, decide_type
from kai.storage.text import INDEXED_TYPES, TextUnavailable
from kai.storage.text_process import ExtractionLimits, extract_text_apart

log = logging.getLogger(__name__)

INDEX_TASK = "file.index"
READ_CHUNK = 1 << 20
MAX_QUERY_CHARS = 1000
MAX_SEARCH_LIMIT = 50


class TamperedBlob(Exception):
    """A stored blob no longer matches the checksum taken at upload (F6)."""


class UploadSource(Protocol):
    """What an upload is read from: Starlette's UploadFile, spooled to disk as it arrived."""

    @property
    def filename(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...

    async def seek(self, offset: int) -> None: ...


class FileService(FileQueries):
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        scanner: Scanner | None,
        search_index: SearchIndex,
        signer: DownloadSigner,
        tasks: TaskService,
        max_upload_bytes: int,
        allowed_types: Sequence[str],
        extraction: ExtractionLimits,
        pager: Pager,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self.blobs = blobs
        self.scanner = scanner
        self.search_index = search_index
        self.signer = signer
        self._tasks = tasks
        self.max_upload_bytes = max_upload_bytes
        self._allowed = frozenset(allowed_types)
        self._extraction = extraction

    # -- upload -------------------------------------------------------------------

    async def upload(
        self, *, owner_id: str, agent_id: str | None, source: UploadSource
    ) -> StoredFile:
        # From its start: the multipart spec lets one file fill several variables (two
        # uploadFile fields of one document), and the one before read it to its end.
        await source.seek(0)
        inspection = _Inspection(source.content_type, self._allowed, self.max_upload_bytes)
        key = secrets.token_hex(16)
        await self._stage(key, source, inspection)
        row = StoredFile(
            owner_id=owner_id,
            agent_id=agent_id,
            original_name=sanitise_filename(source.filename),
            size=inspection.size,
            mime_type=inspection.mime_type,
            checksum=inspection.digest.hexdigest(),
            scan_status=ScanStatus.SKIPPED if self.scanner is None else ScanStatus.CLEAN,
            storage_key=key,
        )
        await self._insert(row)
        metrics.UPLOAD_BYTES.inc(row.size)
        if row.mime_type in INDEXED_TYPES:
            try:
                await self._tasks.enqueue_system(
                    owner_id=owner_id, type=INDEX_TASK, payload={"fileId": row.id}, retries=3
                )
            except Exception as exc:  # the file is stored: failing the upload now would lie
                log.error("file %s stored but not queued for indexing: %r", row.id, exc)
        return row

    async def _stage(self, key: str, source: UploadSource, inspection: _Inspection) -> None:
        """The body into the blob store under `key`, inspected on the way: published only
        when every check passed, else nothing stays."""
        try:
            async with self._scanning() as scan:
                await self.blobs.put(key, inspection.passed(source, scan))
        except ScannerUnavailable as exc:
            # Never "clean" by default (F5): no scan, no file.
            log.error("virus scanner unavailable, upload refused: %s", exc)
            raise ServiceUnavailable(
                "The virus scanner is unavailable; the file was not stored."
            ) from exc
        except BlobStoreUnavailable as exc:
            log.error("blob store unavailable, upload refused: %s", exc)
            raise ServiceUnavailable(
                "File storage is unavailable; the file was not stored."
            ) from exc

    @asynccontextmanager
    async def _scanning(self) -> AsyncIterator[ScanStream | None]:
        """The scanner's stream for one upload (none when no scanner is configured:
        development only)."""
        if self.scanner is None:
            yield None
            return
        async with self.scanner.stream() as scan:
            yield scan

    async def _insert(self, row: StoredFile) -> None:
        """The row, after its blob is in place: the row is what makes a file visible (its
        key is random and unknown until then), so a file is never listed, found or
        downloadable before every check passed, and never without its blob. Whatever
        fails (or is cancelled) here takes the blob back."""
        try:
            async with transaction(self._sessionmaker) as session:
                session.add(row)
        except BaseException as exc:
            await asyncio.shield(self._forget_blob(row.storage_key))
            if isinstance(exc, IntegrityError):  # the agent was deleted meanwhile
                raise NotFound("Agent") from exc
            raise

    async def _forget_blob(self, key: str) -> None:
        try:
            await self.blobs.delete(key)
        except Exception as exc:
            log.error("could not remove blob %s after a failed upload: %r", key, exc)

    def url(self, row: StoredFile) -> str:
        return self.signer.url(row.id)

    @asynccontextmanager
    async def download(self, row: StoredFile) -> AsyncIterator[AsyncIterator[bytes]]:
        """The blob's bytes, checked against the upload's size and checksum as they go.

        The last chunk is held back until the whole content is verified: a tampered
        blob ends the response short of its Content-Length, which every client
        reports as an error, instead of delivering the wrong bytes in full.
        """
        async with (
            self.blobs.open(row.storage_key) as chunks,
            aclosing(_verified(chunks, row)) as verified,
        ):
            yield verified

    # -- delete ---------------------------------------------------------------------

    async def delete(self, row: StoredFile) -> None:
        """Search passages, then the blob, then the row: a failure leaves the row, so
        deleting again finishes the job, and no row is ever left without its blob."""
        try:
            await self.search_index.remove_file(row.id)
            await self.blobs.delete(row.storage_key)
        except Exception as exc:
            log.error("could not delete file %s: %r", row.id, exc)
            raise ServiceUnavailable("File storage is unavailable; the file was kept.") from exc
        async with transaction(self._sessionmaker) as session:
            await session.execute(delete(StoredFile).where(col(StoredFile.id) == row.id))

    async def delete_of_agent(self, *, agent_id: str) -> int:
        """An agent's files go before the agent does (blobs and passages included)."""
        rows = (await self.by_agents([agent_id]))[agent_id]
        for row in rows:
            await self.delete(row)
        return len(rows)

    # -- search ---------------------------------------------------------------------

    async def index(self, payload: Any, report: Any) -> dict[str, Any]:
        """The `file.index` task: the file's text, chunked, embedded, into the index.

        Safe to run again (a retry, a redelivery): the file's passages are replaced.
        """
        file_id = str((payload or {}).get("fileId", ""))
        row = await self.get(file_id=file_id)
        if row is None:
            return {"fileId": file_id, "passages": 0, "skipped": "file deleted"}
        try:
            text = await self._text_of(row)
        except TextUnavailable as exc:
            # The same file fails the same way again: not searchable, not retried.
            log.info("file %s not indexed: %s", row.id, exc)
            return {"fileId": row.id, "passages": 0, "skipped": str(exc)}
        await report(0.5)
        passages = await self.search_index.index_file(
            file_id=row.id, owner_id=row.owner_id, agent_id=row.agent_id, text=text
        )
        async with transaction(self._sessionmaker) as session:
            stored = await session.get(StoredFile, row.id)
            if stored is not None:
                stored.indexed_at = utcnow()
        if stored is None:  # deleted while it was being indexed: take the passages back
            await self.search_index.remove_file(row.id)
        return {"fileId": row.id, "passages": passages}

    async def _text_of(self, row: StoredFile) -> str:
        """Extraction reads a file (pypdf needs one it can seek): the blob, spooled to a
        temporary file, then read by a bounded child process (C3)."""
        with tempfile.TemporaryDirectory(prefix="kai-index-") as directory:
            path = Path(directory) / "blob"
            with path.open("wb") as spool:
                async with self.download(row) as chunks:
                    async for chunk in chunks:
                        await asyncio.to_thread(spool.write, chunk)
            return await extract_text_apart(path, row.mime_type, self._extraction)

    async def search(
        self, *, principal: Principal, query: str, agent_id: str | None, limit: int
    ) -> list[tuple[StoredFile, str, float]]:
        """Passages of the caller's own files, best first."""
        if len(query) > MAX_QUERY_CHARS:
            raise BadUserInput(f"query is at most {MAX_QUERY_CHARS} characters.", field="query")
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise BadUserInput(f"limit must be 1 to {MAX_SEARCH_LIMIT}.", field="limit")
        narrowed = principal.agent_ids is not None and agent_id is None
        passages = await self.search_index.search(
            query,
            owner_id=principal.user_id,
            agent_id=agent_id,
            # A key limited to some agents filters afterwards: fetch enough to fill the page.
            limit=limit * 5 if narrowed else limit,
        )
        ids = {passage.file_id for passage in passages}
        async with self._sessionmaker() as session:
            rows = {
                row.id: row
                for row in await session.scalars(
                    select(StoredFile).where(
                        col(StoredFile.id).in_(ids), col(StoredFile.owner_id) == principal.user_id
                    )
                )
            }
        hits: list[tuple[StoredFile, str, float]] = []
        for passage in passages:
            row = rows.get(passage.file_id)
            if row is None:  # deleted since it was indexed
                continue
            if principal.agent_ids is not None and row.agent_id not in principal.agent_ids:
                continue
            hits.append((row, passage.chunk, passage.score))
        return hits[:limit]


class _Inspection:
    """What one pass over an upload learns (size, checksum, type), refusing as it goes."""

    def __init__(self, declared: str | None, allowed: frozenset[str], max_bytes: int) -> None:
        self.declared = declared
        self.allowed = allowed
        self.max_bytes = max_bytes
        self.sniffer = ContentSniffer()
        self.digest = hashlib.sha256()
        self.size = 0
        self.mime_type = ""

    async def passed(
        self, source: UploadSource, scan: ScanStream | None
    ) -> AsyncGenerator[bytes, None]:
        """The body in one pass: each chunk is counted, hashed, sniffed and sent to the
        scanner on its way into the blob store's staging area. The verdicts come after the
        last chunk, before the generator ends: a refusal raised here is raised inside the
        store's `put`, which then discards what it staged and never publishes it."""
        checked_magic = False
        async with aclosing(_chunks(source)) as chunks:
            async for chunk in chunks:
                self.size += len(chunk)
                if self.size > self.max_bytes:
                    raise PayloadTooLarge(
                        f"The file is over the {self.max_bytes}-byte upload limit."
                    )
                self.digest.update(chunk)
                self.sniffer.feed(chunk)
                if not checked_magic and self.size >= HEAD_BYTES:
                    checked_magic = True
                    if (magic := self.sniffer.magic()) is not None:
                        # A spoofed binary is refused here, not after a full scan.
                        decide_type(self.declared, [magic], self.allowed)
                if scan is not None:
                    await scan.send(chunk)
                yield chunk
        if scan is not None:
            _refuse_if_found(await scan.verdict())
        self.mime_type = decide_type(self.declared, self.sniffer.candidates(), self.allowed)


def _refuse_if_found(signature: str | None) -> None:
    if signature is not None:
        log.warning("upload refused: malware %s detected", signature)
        raise MalwareDetected(
            f"The virus scanner found {signature}; the file was not stored.",
            signature=signature,
        )


async def _chunks(source: UploadSource) -> AsyncGenerator[bytes, None]:
    while chunk := await source.read(READ_CHUNK):
        yield chunk


async def _verified(chunks: AsyncIterator[bytes], row: StoredFile) -> AsyncGenerator[bytes, None]:
    digest = hashlib.sha256()
    size = 0
    held: bytes | None = None
    async for chunk in chunks:
        size += len(chunk)
        if size > row.size:
            break
        digest.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if size != row.size or digest.hexdigest() != row.checksum:
        log.error(
            "file %s: stored blob %s does not match its checksum (size %d, expected %d); "
            "download aborted",
            row.id,
            row.storage_key,
            size,
            row.size,
        )
        raise TamperedBlob(row.id)
    if held is not None:
        yield held
