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
from tests.support.databases import postgres_database
from tests.support.servers import free_port, kai_serve

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
        stdin=subprocess.DEVNULL,  # no terminal, even when pytest runs in one
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

    assert "admin root@example.com created" in result.stdout
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


# --- a newcomer's rough edges ----------------------------------------------------------


def test_version_and_help_say_what_and_which_defaults(env: dict[str, str]) -> None:
    from importlib.metadata import version

    assert kai("--version", env=env).stdout.strip() == f"kai {version('kai')}"
    serve_help = kai("serve", "--help", env=env).stdout
    assert "--port PORT  port to listen on (default: 8000)" in serve_help
    assert "KAI_* environment variables" in serve_help
    for command in ("worker", "migrate", "export-schema", "create-admin"):
        text = kai(command, "--help", env=env).stdout
        assert "options:" in text and len(text.splitlines()) > 6, command


def _one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal: the one line of stderr that says `kai:`, with no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kai:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unreachable_database_or_redis_is_one_line_naming_the_setting(
    env: dict[str, str],
) -> None:
    closed = free_port()  # nothing listens there
    for command in ("serve", "migrate"):
        line = _one_line_refusal(
            kai(
                command,
                env=env | {"KAI_DATABASE_URL": f"postgresql://kai@127.0.0.1:{closed}/kai"},
                check=False,
            )
        )
        assert line == (
            f"kai: cannot reach PostgreSQL at 127.0.0.1:{closed}/kai (KAI_DATABASE_URL): "
            "connection refused"
        )
    for command in ("serve", "worker"):
        line = _one_line_refusal(
            kai(command, env=env | {"KAI_REDIS_URL": f"redis://127.0.0.1:{closed}"}, check=False)
        )
        assert (
            line
            == f"kai: cannot reach Redis at 127.0.0.1:{closed} (KAI_REDIS_URL): connection refused"
        )


async def test_a_plain_postgresql_url_means_asyncpg(env: dict[str, str]) -> None:
    async with postgres_database() as url:
        plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        result = kai("migrate", env=env | {"KAI_DATABASE_URL": plain})
    assert "up to date" in result.stdout


def test_a_database_kai_does_not_run_on_is_named(env: dict[str, str]) -> None:
    line = _one_line_refusal(
        kai("migrate", env=env | {"KAI_DATABASE_URL": "mysql://db/kai"}, check=False)
    )
    assert line == (
        "kai: KAI_DATABASE_URL: mysql:// is not a database kAI runs on: "
        "postgresql://user@host/db or sqlite:///path"
    )


def test_a_mistyped_setting_is_warned_about_and_refused_in_production(
    env: dict[str, str], tmp_path: Path
) -> None:
    typo = env | {"KAI_DATABSE_URL": "postgresql://db/kai"}
    result = kai("migrate", env=typo)
    assert result.stderr.strip() == (
        "kai: warning: KAI_DATABSE_URL is not a setting (did you mean KAI_DATABASE_URL?); "
        "it is ignored"
    )
    production = typo | {
        "KAI_ENV": "production",
        "KAI_DATABASE_URL": f"postgresql://kai@127.0.0.1:{free_port()}/kai",
        "KAI_JWT_SECRET": "x" * 64,
        "KAI_PUBLIC_URL": "https://kai.example.com",
        "KAI_BROADCAST_URL": f"redis://127.0.0.1:{free_port()}",
        "KAI_SCANNER": "none",
    }
    line = _one_line_refusal(kai("migrate", env=production, check=False))
    assert line.startswith("kai: refusing to start in production: KAI_DATABSE_URL is not")


def test_create_admin_needs_a_password_and_leaves_an_existing_account_alone(
    env: dict[str, str], server: str
) -> None:
    line = _one_line_refusal(kai("create-admin", "--email", "a@example.com", env=env, check=False))
    assert "KAI_ADMIN_PASSWORD" in line
    user = {"email": "someone@example.com", "password": "their own long passphrase"}
    httpx.post(f"{server}/graphql", json={"query": REGISTER, "variables": {"input": user}})
    httpx.post(
        f"{server}/graphql",
        json={"query": REGISTER, "variables": {"input": {**user, "email": "other@example.com"}}},
    )

    def login_role(password: str) -> str | None:
        answer = httpx.post(
            f"{server}/graphql",
            json={"query": LOGIN, "variables": {"input": {**user, "password": password}}},
        ).json()
        return None if answer.get("errors") else str(answer["data"]["login"]["user"]["role"])

    taken = env | {"KAI_ADMIN_PASSWORD": "an operator's new passphrase"}
    line = _one_line_refusal(
        kai("create-admin", "--email", "someone@example.com", env=taken, check=False)
    )
    assert "already has an account; it was left as it is" in line
    assert login_role("their own long passphrase") == "ADMIN"  # the first user; unchanged

    forced = kai("create-admin", "--email", "someone@example.com", "--force", env=taken)
    assert "is now an active ADMIN with the new password" in forced.stdout
    assert login_role("their own long passphrase") is None
    assert login_role("an operator's new passphrase") == "ADMIN"


def test_serve_says_where_it_listens_and_on_which_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    with kai_serve(env, port=port, read_output=True) as (_url, process):
        pass  # started and answered /healthz; stopped on leaving
    output = process.stdout.read() if process.stdout else ""
    assert (
        f"kAI ready on http://127.0.0.1:{port} (development; SQLite at {tmp_path / 'kai.db'})"
        in output
    ), output
