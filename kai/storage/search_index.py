"""Semantic search over uploaded files' text: passages embedded into a Qdrant collection.

One point per passage, payload {file_id, owner_id, agent_id, chunk, position}; every search
filters on owner_id, so one collection serves all users.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

from kai.storage.embeddings import Embedder
from kai.storage.text import chunk_text

T = TypeVar("T")

# Passages embedded and upserted at a time: bounds memory for a file of millions of characters.
BATCH = 64
TIMEOUT_SECONDS = 30
MAX_REASON_CHARS = 300
# Point ids are uuid5(this, "file_id:position"): a re-run of an indexing task overwrites the
# points it wrote before instead of adding copies.
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "kai:file-passages")
_KEYWORD_FIELDS = ("owner_id", "agent_id", "file_id")


@dataclass(frozen=True)
class Passage:
    file_id: str
    chunk: str
    score: float


class SearchUnavailable(Exception):
    """Qdrant cannot be used now (down, refusing, misconfigured); the message says why."""


class SearchIndex:
    """The passages of files' text in Qdrant: a server, or local mode in this process.

    `location` is a URL ("http(s)://...") for a server, ":memory:", or a directory for local
    mode on disk. Local mode computes in Python and, on disk, commits to SQLite once per point:
    its calls run in one worker thread of their own so they never stall the event loop.
    """

    def __init__(
        self,
        *,
        embedder: Embedder,
        location: str,
        api_key: str | None = None,
        collection: str = "kai_files",
    ):
        self.embedder = embedder
        self._location = location
        self._api_key = api_key
        self._collection = collection
        self._remote = location.startswith(("http://", "https://"))
        self._where = (
            urlsplit(location).netloc.rsplit("@", 1)[-1] if self._remote else repr(location)
        )
        self._client: AsyncQdrantClient | None = None
        # Local mode only: the single thread (and its event loop) all its calls run on, so its
        # SQLite connection is only ever used by the thread that opened it.
        self._worker: ThreadPoolExecutor | None = None
        self._worker_loop: asyncio.AbstractEventLoop | None = None
        # The collection's vector size once it is known to exist; None: look again.
        self._size: int | None = None
        self._creating = asyncio.Lock()
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        if self._client is not None:
            return
        if self._remote:
            # check_compatibility would query the server from a thread at construction and
            # warn when it is down; check() is the readiness probe.
            self._client = AsyncQdrantClient(
                url=self._location,
                api_key=self._api_key,
                timeout=TIMEOUT_SECONDS,
                check_compatibility=False,
            )
            return
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant-local")
        self._worker_loop = asyncio.new_event_loop()
        try:
            self._client = await self._in_worker(self._open_local)
        except RuntimeError as exc:
            # e.g. "Storage folder ... is already accessed by another instance": local mode
            # locks its directory for one client at a time.
            await self._stop_worker()
            raise SearchUnavailable(f"Qdrant local storage {self._where}: {exc}") from exc
        except Exception:
            await self._stop_worker()
            raise

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            if self._worker is None:
                await client.close()
            else:
                await self._in_worker(lambda: self._worker_run(client.close()))
        await self._stop_worker()

    async def check(self) -> None:
        # Asks about our collection: proves the server answers and the key may read it.
        await self._call("answer", lambda client: client.collection_exists(self._collection))

    async def index_file(
        self, *, file_id: str, owner_id: str, agent_id: str | None, text: str
    ) -> int:
        """Replace the file's passages with those of `text`; returns how many there are."""
        await self.remove_file(file_id)
        chunks = chunk_text(text)
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            vectors = await self.embedder.embed(batch)
            if len(vectors) != len(batch):
                raise SearchUnavailable(
                    f"The embedder {self.embedder.name} gave {len(vectors)} vectors for "
                    f"{len(batch)} passages."
                )
            await self._ensure_collection(len(vectors[0]))
            points = [
                models.PointStruct(
                    id=str(point_id(file_id, position)),
                    vector=vector,
                    payload={
                        "file_id": file_id,
                        "owner_id": owner_id,
                        "agent_id": agent_id,
                        "chunk": chunk,
                        "position": position,
                    },
                )
                for position, (chunk, vector) in enumerate(zip(batch, vectors, strict=True), start)
            ]
            await self._upsert(points)
        return len(chunks)

    async def _upsert(self, points: list[models.PointStruct]) -> None:
        await self._call(
            "store passages", lambda client: client.upsert(self._collection, points, wait=True)
        )

    async def remove_file(self, file_id: str) -> None:
        if not await self._exists():
            return
        selector = models.FilterSelector(filter=_filter(file_id=file_id))
        await self._call(
            "remove passages",
            lambda client: client.delete(self._collection, points_selector=selector, wait=True),
        )

    async def search(
        self, query: str, *, owner_id: str, agent_id: str | None = None, limit: int = 10
    ) -> list[Passage]:
        """The passages of `owner_id`'s files (of `agent_id`'s, if given) nearest to `query`."""
        if not query.strip() or limit < 1 or not await self._exists():
            return []
        [vector] = await self.embedder.embed([query])
        if len(vector) != self._size:
            raise SearchUnavailable(self._mismatch(len(vector)))
        found = await self._call(
            "search",
            lambda client: client.query_points(
                self._collection,
                query=vector,
                query_filter=_filter(owner_id=owner_id, agent_id=agent_id),
                limit=limit,
                with_payload=["file_id", "chunk"],
            ),
        )
        passages = []
        for point in found.points:
            payload = point.payload or {}
            if isinstance(payload.get("file_id"), str) and isinstance(payload.get("chunk"), str):
                passages.append(Passage(payload["file_id"], payload["chunk"], float(point.score)))
        return passages

    # Collection -------------------------------------------------------------------------

    async def _exists(self) -> bool:
        if self._size is not None:
            return True
        # Another process (or an earlier run) may have created it since we last looked.
        if not await self._call(
            "look up its collection", lambda client: client.collection_exists(self._collection)
        ):
            return False
        info = await self._call(
            "describe its collection", lambda client: client.get_collection(self._collection)
        )
        vectors = info.config.params.vectors
        if not isinstance(vectors, models.VectorParams):
            raise SearchUnavailable(
                f"The Qdrant collection {self._collection!r} has named vectors; kAI needs one "
                "unnamed vector per point. Configure another collection name."
            )
        self._size = vectors.size
        return True

    async def _ensure_collection(self, size: int) -> None:
        async with self._creating:
            if not await self._exists():
                await self._create(size)
                self._size = size
        if self._size != size:
            raise SearchUnavailable(self._mismatch(size))

    async def _create(self, size: int) -> None:
        vectors = models.VectorParams(size=size, distance=models.Distance.COSINE)
        try:
            await self._call(
                "create its collection",
                lambda client: client.create_collection(self._collection, vectors_config=vectors),
            )
        except SearchUnavailable as exc:
            if not _already_exists(exc.__cause__):
                raise
            return  # another process created it first; it made the indexes too
        if not self._remote:
            return  # local mode ignores payload indexes (and warns about each)
        for field in _KEYWORD_FIELDS:
            # owner_id partitions the data per user: as a tenant index, Qdrant stores each
            # user's points together, which speeds up the filtered search.
            schema = models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=field == "owner_id"
            )
            await self._index_payload(field, schema)

    async def _index_payload(self, field: str, schema: models.KeywordIndexParams) -> None:
        await self._call(
            "index its payload",
            lambda client: client.create_payload_index(
                self._collection, field, field_schema=schema, wait=True
            ),
        )

    def _mismatch(self, size: int) -> str:
        return (
            f"The Qdrant collection {self._collection!r} holds vectors of {self._size} "
            f"dimensions, but the embedder {self.embedder.name} makes {size}: vectors of "
            "different models cannot be compared. Use another collection (and re-index) or "
            "go back to the previous embedder."
        )

    # Calls ------------------------------------------------------------------------------

    async def _call(
        self, what: str, call: Callable[[AsyncQdrantClient], Coroutine[Any, Any, T]]
    ) -> T:
        client = self._client
        if client is None:
            # Opened on first use: local mode locks its directory, and a process that
            # never searches or indexes (a worker on other work) must not take the lock.
            async with self._starting:
                await self.start()
            client = self._client
            assert client is not None
        try:
            if self._worker is None:
                return await call(client)
            return await self._in_worker(lambda: self._worker_run(call(client)))
        except (ApiException, httpx.HTTPError, OSError, RuntimeError, ValueError) as exc:
            self._size = None  # e.g. the collection was deleted: look again next time
            raise SearchUnavailable(
                f"Qdrant at {self._where} could not {what}: {_reason(exc)}"
            ) from exc

    async def _in_worker(self, work: Callable[[], T]) -> T:
        assert self._worker is not None
        return await asyncio.wrap_future(self._worker.submit(work))

    def _worker_run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        # Runs in the worker thread; local mode's coroutines never wait on I/O.
        assert self._worker_loop is not None
        return self._worker_loop.run_until_complete(coroutine)

    def _open_local(self) -> AsyncQdrantClient:
        if self._location == ":memory:":
            return AsyncQdrantClient(location=":memory:")
        return AsyncQdrantClient(path=self._location)

    async def _stop_worker(self) -> None:
        worker, loop = self._worker, self._worker_loop
        self._worker = self._worker_loop = None
        if worker is not None:
            if loop is not None:
                await asyncio.wrap_future(worker.submit(loop.close))
            await asyncio.to_thread(worker.shutdown)


def point_id(file_id: str, position: int) -> uuid.UUID:
    return uuid.uuid5(POINT_NAMESPACE, f"{file_id}:{position}")


def _filter(**must: str | None) -> models.Filter:
    return models.Filter(
        must=[
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in must.items()
            if value is not None
        ]
    )


def _already_exists(exc: BaseException | None) -> bool:
    return isinstance(exc, UnexpectedResponse) and exc.status_code == 409


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnexpectedResponse):
        detail = exc.content.decode(errors="replace").strip()
        text = f"{exc.status_code} {exc.reason_phrase} {detail}".strip()
    else:
        source: Any = getattr(exc, "source", None)  # ResponseHandlingException wraps the cause
        cause = source if isinstance(source, Exception) else exc
        text = str(cause).strip() or type(cause).__name__
        text = f"{type(cause).__name__}: {text}" if text != type(cause).__name__ else text
    return text[:MAX_REASON_CHARS]
