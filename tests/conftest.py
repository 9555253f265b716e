"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when
KAI_TEST_DATABASE_URL is set), the app on it, and a GraphQL client."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kai import migrate
from kai.app import create_app
from kai.config import Settings
from kai.db import create_engine
from tests.clamd_server import clamd_url as clamd_url
from tests.graphql_client import GraphQLClient
from tests.redis_server import redis_fixture as redis_fixture
from tests.s3_server import s3_server as s3_server

pytest_plugins = ("tests.stream_leaks",)

TEST_SECRET = "test-secret-" + "x" * 40
PG_ENV = "KAI_TEST_DATABASE_URL"


def _without_tls_negotiation(url: str | None) -> str | None:
    """The test server speaks no TLS. With asyncpg's default (sslmode "prefer") each new
    connection, and each cancel request of a cancelled query, first asks for TLS, and a
    cancel connection that closes during that exchange leaves a future whose error nobody
    reads (asyncpg issues 1211 and 1310): asyncio logs it, and the suite fails the test."""
    if not url or "ssl" in make_url(url).query:
        return url
    return make_url(url).update_query_dict({"ssl": "disable"}).render_as_string(hide_password=False)


if os.environ.get(PG_ENV):
    os.environ[PG_ENV] = str(_without_tls_negotiation(os.environ[PG_ENV]))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrating each time is slow."""
    path = tmp_path_factory.mktemp("template") / "kai.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A migrated PostgreSQL database used as the template of each test's database."""
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    name = f"kai_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(url, f'CREATE DATABASE "{name}"'))
    template_url = make_url(url).set(database=name).render_as_string(hide_password=False)

    async def build() -> None:
        engine = create_engine(template_url)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield name
    asyncio.run(_pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_template: str | None,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "kai.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with postgres_database(template=postgres_template) as url:
        yield url


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
    await _pg_admin(url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "data_dir": data_dir,
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "public_url": "https://kai.example.test",
        # Tests sign in often from one address; the throttling tests lower these.
        "rate_limit_auth_per_ip": 10_000,
        "rate_limit_auth_per_account": 10_000,
        # Likewise the per-minute budgets of each operation family; tests/test_rate_limits.py
        # lowers them.
        "rate_limit_query_per_minute": 10_000,
        "rate_limit_mutation_per_minute": 10_000,
        "rate_limit_subscribe_per_minute": 10_000,
        "rate_limit_upload_per_minute": 10_000,
        "rate_limit_agent_per_minute": 10_000,
        "rate_limit_anonymous_per_minute": 10_000,
        # In-memory Qdrant: each test's index starts empty and costs no disk.
        "qdrant_url": ":memory:",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)
