"""Database URLs as people write them, and the async driver kAI uses for each: a plain
`postgresql://` (as every tool writes it) means asyncpg, where SQLAlchemy would have looked
for psycopg ("No module named psycopg")."""

from __future__ import annotations

# The URL schemes a database setting may use, and the async driver each one means.
DATABASE_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def with_async_driver(url: str) -> str:
    """`url` with the driver kAI uses; ValueError for what is no URL of a database kAI
    runs on. An empty value stays empty (the default database)."""
    url = url.strip()
    if not url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("not a URL: postgresql://user@host/db or sqlite:///path")
    driver = DATABASE_DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"{scheme}:// is not a database kAI runs on: "
            "postgresql://user@host/db or sqlite:///path"
        )
    return f"{driver}://{rest}"
