"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL when
KAI_TEST_DATABASE_URL is set), the app on it, and a GraphQL client."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from kai import migrate
from kai.config import Settings
from kai.db import create_engine
from tests.support.apps import client_at, running_app
from tests.support.clamd_server import clamd_url as clamd_url
from tests.support.databases import PG_ENV, pg_admin, postgres_database, without_tls_negotiation
from tests.support.graphql_client import GraphQLClient
from tests.support.redis_server import redis_fixture as redis_fixture
from tests.support.s3_server import s3_server as s3_server
from tests.support.settings import make_settings

pytest_plugins = ("tests.support.stream_leaks",)

# A run started in the background by a shell without job control inherits SIGINT ignored,
# and hands that on to every process it starts, whose Python then never raises
# KeyboardInterrupt: the tests that press Ctrl-C on a CLI process would find it deaf. A
# handler here (rather than SIG_IGN) leaves the processes started from now on at the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Generated tests are judged by what they find, never by how long an example took: on a busy
# two-core CI machine a pure function now and then runs past Hypothesis's default 200 ms
# deadline, and the run fails (DeadlineExceeded, or Flaky when the re-run is fast).
hypothesis_settings.register_profile("kai", deadline=None)
hypothesis_settings.load_profile("kai")

if os.environ.get(PG_ENV):
    os.environ[PG_ENV] = str(without_tls_negotiation(os.environ[PG_ENV]))


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
    asyncio.run(pg_admin(url, f'CREATE DATABASE "{name}"'))
    template_url = make_url(url).set(database=name).render_as_string(hide_password=False)

    async def build() -> None:
        engine = create_engine(template_url)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield name
    asyncio.run(pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests of the protocol itself, where the database makes no difference."""
    path = tmp_path / "kai.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[GraphQLClient]:
    async with client_at(app) as graphql:
        yield graphql
