"""Documents registered through Apollo's automatic persisted queries (APQ), by the SHA-256
of their text.

They live in the database, so a document a client registered on one replica runs on every
other, with a process-local LRU in front so that a hot document costs no query. Anyone may
register one, so the table is a bounded cache: past `max_documents` rows the least recently
used go (a client whose document went registers it again, as APQ expects). "Used" is when a
process last loaded it from the table, at most once per `touch_seconds` per process: runs
from the cache write nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.lru import LRU
from kai.models.base import utcnow
from kai.models.persisted_document import PersistedDocument

DEFAULT_CACHE_SIZE = 1024
DEFAULT_TOUCH_SECONDS = 300.0


@dataclass(slots=True)
class _Cached:
    text: str
    touched: float  # time.monotonic() of the last write of its used_at


class PersistedDocumentService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        max_documents: int,
        cache_size: int = DEFAULT_CACHE_SIZE,
        touch_seconds: float = DEFAULT_TOUCH_SECONDS,
    ):
        self._sessionmaker = sessionmaker
        self.max_documents = max_documents
        self._cache: LRU[str, _Cached] = LRU(cache_size)
        self._touch_seconds = touch_seconds

    async def get(self, sha256: str) -> str | None:
        """The document registered under `sha256`, or None."""
        cached = self._cache.get(sha256)
        now = time.monotonic()
        if cached is not None and now - cached.touched < self._touch_seconds:
            return cached.text
        async with transaction(self._sessionmaker) as session:
            touched = await changed_rows(
                session,
                update(PersistedDocument)
                .where(col(PersistedDocument.sha256) == sha256)
                .values(used_at=utcnow()),
            )
            text = cached.text if cached is not None else None
            if touched and text is None:
                text = await session.scalar(
                    select(col(PersistedDocument.document)).where(
                        col(PersistedDocument.sha256) == sha256
                    )
                )
        if not touched:
            if cached is None:
                return None
            # Still hot here although the table let it go: it goes back.
            await self.put(sha256, cached.text)
            return cached.text
        if text is not None:
            self._cache.add(sha256, _Cached(text, now))
        return text

    async def put(self, sha256: str, text: str) -> None:
        """Registers `text` under `sha256` (the caller has checked that it is its hash), then
        lets the least recently used rows past `max_documents` go."""
        now = utcnow()
        try:
            async with transaction(self._sessionmaker) as session:
                stored = await changed_rows(
                    session,
                    update(PersistedDocument)
                    .where(col(PersistedDocument.sha256) == sha256)
                    .values(used_at=now),
                )
                if not stored:
                    session.add(
                        PersistedDocument(sha256=sha256, document=text, created_at=now, used_at=now)
                    )
        except IntegrityError:
            pass  # another process registered it meanwhile: the same text
        await self._trim()
        self._cache.add(sha256, _Cached(text, time.monotonic()))

    async def _trim(self) -> None:
        beyond_the_cap = (
            select(col(PersistedDocument.sha256))
            .order_by(col(PersistedDocument.used_at).desc(), col(PersistedDocument.sha256))
            .offset(self.max_documents)
        )
        async with transaction(self._sessionmaker) as session:
            await session.execute(
                delete(PersistedDocument).where(col(PersistedDocument.sha256).in_(beyond_the_cap))
            )

    async def count(self) -> int:
        """How many documents the table holds."""
        async with self._sessionmaker() as session:
            found = await session.scalar(select(func.count()).select_from(PersistedDocument))
        return int(found or 0)
