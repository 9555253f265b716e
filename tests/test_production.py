"""The production profile as served: no GraphiQL, introspection, suggestions or GET queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from kai import migrate
from kai.app import create_app
from kai.db import create_engine
from kai.jwt_secret import UnsafeSettingsError
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import production

INTROSPECTION = "{ __schema { types { name } } }"
MISSPELT = "{ mee { id } }"


@pytest.fixture
async def production_client(tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async with postgres_database() as database:
        engine = create_engine(database)
        await migrate.upgrade(engine)
        await engine.dispose()
        app = create_app(production(database, tmp_path))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
                yield GraphQLClient(http)


async def test_production_serves_no_graphiql(production_client: GraphQLClient) -> None:
    response = await production_client.http.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 404


async def test_production_serves_graphiql_when_a_setting_says_so(tmp_path: Path) -> None:
    async with postgres_database() as database:
        engine = create_engine(database)
        await migrate.upgrade(engine)
        await engine.dispose()
        app = create_app(production(database, tmp_path).model_copy(update={"graphiql": True}))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
                page = await http.get("/graphql", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert "<title>kAI GraphiQL</title>" in page.text


async def test_production_serves_the_console(production_client: GraphQLClient) -> None:
    page = await production_client.http.get("/agents")

    assert page.status_code == 200
    assert "<title>kAI console</title>" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_production_refuses_queries_over_get(production_client: GraphQLClient) -> None:
    response = await production_client.http.get("/graphql", params={"query": "{ me { id } }"})

    assert response.status_code in {400, 405}
    assert "data" not in response.json()


async def test_production_refuses_introspection(production_client: GraphQLClient) -> None:
    result = await production_client.execute(INTROSPECTION)

    assert set(result.codes) == {"GRAPHQL_VALIDATION_FAILED"}
    assert result.data is None


async def test_production_gives_no_field_suggestions(production_client: GraphQLClient) -> None:
    result = await production_client.execute(MISSPELT)

    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in str(result.body)


async def test_development_does_suggest_fields(client: GraphQLClient) -> None:
    result = await client.execute(MISSPELT)

    assert "Did you mean" in str(result.body)


async def test_production_refuses_to_start_with_pending_migrations(tmp_path: Path) -> None:
    async with postgres_database() as database:
        app: Any = create_app(production(database, tmp_path))

        with pytest.raises(RuntimeError, match="kai migrate"):
            async with LifespanManager(app):
                pass


async def test_H1_production_serves_no_metrics_without_a_token(
    production_client: GraphQLClient,
) -> None:
    # /metrics shares the API's port: routes, counts and timings are not for strangers.
    response = await production_client.http.get("/metrics")

    assert response.status_code == 404


async def test_H1_metrics_behind_a_token_answer_only_those_who_carry_it(tmp_path: Path) -> None:
    token = "m" * 40
    async with postgres_database() as database:
        engine = create_engine(database)
        await migrate.upgrade(engine)
        await engine.dispose()
        app = create_app(production(database, tmp_path, metrics_token=token))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
                anonymous = await http.get("/metrics")
                wrong = await http.get("/metrics", headers={"authorization": "Bearer " + "x" * 40})
                right = await http.get("/metrics", headers={"authorization": f"Bearer {token}"})

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "kai_" not in anonymous.text + wrong.text
    assert right.status_code == 200
    assert "kai_" in right.text


def test_H1_production_refuses_to_serve_metrics_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSettingsError, match="KAI_METRICS_TOKEN"):
        production("postgresql+asyncpg://kai@db/kai", tmp_path, metrics_enabled=True)
