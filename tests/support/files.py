"""Files for tests: sample contents (text, and the magic numbers of a few types), the
relative form of a signed link, and what the store holds (rows, blobs on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from kai.config import Settings
from kai.models.file import StoredFile
from tests.support.apps import services_of

NOTES = b"Meeting notes: ship the files API on Thursday.\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\0" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 120
WINDOWS_EXE = b"MZ\x90\0\x03" + b"\0" * 120


def relative(url: str) -> str:
    """A signed link's path and query, to request from the server under test."""
    split = urlsplit(url)
    return f"{split.path}?{split.query}"


async def stored_rows(app: Any) -> int:
    async with services_of(app).sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(StoredFile)) or 0)


def blobs_on_disk(settings: Settings) -> list[Path]:
    root = settings.resolved_files_dir
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def nothing_stored(app: Any, settings: Settings) -> None:
    assert await stored_rows(app) == 0
    assert blobs_on_disk(settings) == []
