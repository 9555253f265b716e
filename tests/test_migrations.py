"""The Alembic migrations build exactly the tables the models describe, on both backends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from kai import migrate
from kai.db import create_engine
from kai.models import metadata
from tests.support.databases import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async with postgres_database() as url:
        yield url


async def test_migrations_match_the_models(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert await migrate.pending(engine)
        await migrate.upgrade(engine)
        assert not await migrate.pending(engine)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()

    assert diff == []


async def test_migrations_downgrade_to_nothing_and_up_again(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.downgrade(migrate.alembic_config(sync), "base")
            )
        assert await migrate.pending(engine)
        await migrate.upgrade(engine)
        assert not await migrate.pending(engine)
    finally:
        await engine.dispose()


async def test_keys_stored_with_no_permissions_keep_all_of_their_owners(
    empty_database_url: str,
) -> None:
    """Before 0005, [] meant "all of the owner's": such keys become ["*"] (K7)."""
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.upgrade(migrate.alembic_config(sync), "0004")
            )
            await connection.execute(
                text(
                    "INSERT INTO user_account (id, email, role, is_active, created_at) "
                    "VALUES ('usr_1', 'a@example.com', 'USER', true, CURRENT_TIMESTAMP)"
                )
            )
            for key_id, permissions in (("key_all", "[]"), ("key_some", '["agent.read"]')):
                await connection.execute(
                    text(
                        "INSERT INTO api_key (id, user_id, name, prefix, key_hash, permissions, "
                        "created_at) VALUES (:id, 'usr_1', 'k', :id, :id, :p, CURRENT_TIMESTAMP)"
                    ),
                    {"id": key_id, "p": permissions},
                )
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, permissions FROM api_key"))).all()
    finally:
        await engine.dispose()

    stored = {key_id: json.loads(p) if isinstance(p, str) else p for key_id, p in rows}
    assert stored == {"key_all": ["*"], "key_some": ["agent.read"]}
