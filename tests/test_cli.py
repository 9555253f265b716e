"""The `kai` command, run as a real process: export-schema, migrate, create-admin, serve."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kai.graphql.schema import schema_sdl
from tests.support.servers import kai_serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LOGIN = """
mutation Login($input: LoginInput!) { login(input: $input) { user { email role } } }
"""
REGISTER = """
mutation Register($input: RegisterInput!) { register(input: $input) { accessToken user { role } } }
"""


def kai(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kai.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}
    return clean | {
        "KAI_DATA_DIR": str(tmp_path / "data"),
        "KAI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kai.db'}",
    }


def test_export_schema_prints_the_served_schema(env: dict[str, str], tmp_path: Path) -> None:
    printed = kai("export-schema", env=env).stdout
    kai("export-schema", "--output", str(tmp_path / "out.graphql"), env=env)

    assert printed == schema_sdl()
    assert (tmp_path / "out.graphql").read_text() == schema_sdl()


def test_migrate_creates_the_database(env: dict[str, str], tmp_path: Path) -> None:
    result = kai("migrate", env=env)

    assert "up to date" in result.stdout
    assert (tmp_path / "kai.db").stat().st_size > 0


def test_production_refuses_unsafe_settings_and_names_them(env: dict[str, str]) -> None:
    result = kai("migrate", env=env | {"KAI_ENV": "production"}, check=False)

    assert result.returncode != 0
    assert "KAI_JWT_SECRET" in result.stderr
    assert "KAI_DATABASE_URL" in result.stderr


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    with kai_serve(env) as (url, _process):
        yield url


def test_create_admin_then_log_in_through_a_served_api(env: dict[str, str], server: str) -> None:
    result = kai(
        "create-admin",
        "--email",
        "Root@Example.com",
        env=env | {"KAI_ADMIN_PASSWORD": "a long admin passphrase"},
    )
    response = httpx.post(
        f"{server}/graphql",
        json={
            "query": LOGIN,
            "variables": {
                "input": {"email": "root@example.com", "password": "a long admin passphrase"}
            },
        },
    )

    assert "admin root@example.com ready" in result.stdout
    assert response.json()["data"]["login"]["user"] == {
        "email": "root@example.com",
        "role": "ADMIN",
    }


def test_serve_answers_graphql_and_graphiql_in_development(server: str) -> None:
    registered = httpx.post(
        f"{server}/graphql",
        json={
            "query": REGISTER,
            "variables": {"input": {"email": "a@example.com", "password": "correct horse battery"}},
        },
    ).json()
    graphiql = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})

    assert registered["data"]["register"]["user"]["role"] == "ADMIN"
    assert graphiql.status_code == 200
    assert "graphiql" in graphiql.text.lower()


def test_serve_names_no_server_software(server: str) -> None:
    """No `server: uvicorn` header for a stranger to look up (docs/security.md H1)."""
    for response in (
        httpx.post(f"{server}/graphql", json={"query": "{ __typename }"}),
        httpx.get(f"{server}/healthz"),
        httpx.get(f"{server}/nowhere"),
    ):
        assert "server" not in response.headers, response.headers
