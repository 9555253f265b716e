"""Test databases: a new PostgreSQL database per use (KAI_TEST_DATABASE_URL's server),
or a skip when there is none to use (a failure under CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kai.db import create_engine

PG_ENV = "KAI_TEST_DATABASE_URL"


def without_tls_negotiation(url: str | None) -> str | None:
    """The test server speaks no TLS. With asyncpg's default (sslmode "prefer") each new
    connection, and each cancel request of a cancelled query, first asks for TLS, and a
    cancel connection that closes during that exchange leaves a future whose error nobody
    reads (asyncpg issues 1211 and 1310): asyncio logs it, and the suite fails the test."""
    if not url or "ssl" in make_url(url).query:
        return url
    return make_url(url).update_query_dict({"ssl": "disable"}).render_as_string(hide_password=False)


async def pg_admin(url: str, statement: str) -> None:
    """Runs `statement` (CREATE DATABASE, DROP DATABASE...) outside a transaction."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_url_or_skip() -> str:
    """The test server's URL; without one, skip (and under CI, fail: CI must cover it)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL tests")
        pytest.skip(f"{PG_ENV} not set")
    return url


@asynccontextmanager
async def postgres_database(*, template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database (a copy of `template`, or empty), dropped afterwards."""
    url = postgres_url_or_skip()
    name = f"kai_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await pg_admin(url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
