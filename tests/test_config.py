"""Settings: read from KAI_* variables and .env, documented in docs/settings.md, strict in
production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from kai.config import Settings
from kai.jwt_secret import UnsafeSettingsError

ROOT = Path(__file__).resolve().parent.parent
SAFE_PRODUCTION = {
    "KAI_ENV": "production",
    "KAI_JWT_SECRET": "s" * 48,
    "KAI_DATABASE_URL": "postgresql+asyncpg://kai@db/kai",
    "KAI_PUBLIC_URL": "https://kai.example.com",
    "KAI_CLAMD_URL": "tcp://clamd:3310",
    "KAI_BROADCAST_URL": "redis://redis:6379",
}


def test_the_settings_page_documents_every_setting() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^\| `(KAI_[A-Z0-9_]+)` \|", page, flags=re.MULTILINE))

    assert documented == {f"KAI_{name.upper()}" for name in Settings.model_fields}


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAI_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("KAI_ACCESS_TOKEN_TTL_SECONDS", "120")
    monkeypatch.setenv("KAI_PERMISSIONS", '{"USER": ["agent.read"]}')

    settings = Settings(_env_file=None)

    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.access_token_ttl_seconds == 120
    assert settings.permissions == {"USER": ["agent.read"]}


def test_settings_come_from_a_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("KAI_PUBLIC_URL=https://from-dotenv.example\n")

    settings = Settings(_env_file=env_file)

    assert settings.public_url == "https://from-dotenv.example"


def test_the_default_database_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)

    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'kai.db'}"


def test_production_accepts_safe_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)

    settings = Settings(_env_file=None)

    assert settings.is_production
    assert not settings.graphiql_enabled
    assert not settings.introspection_enabled


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("KAI_DATABASE_URL", "sqlite+aiosqlite:///kai.db", "KAI_DATABASE_URL"),
        ("KAI_PUBLIC_URL", "http://kai.example.com", "KAI_PUBLIC_URL"),
        ("KAI_JWT_SECRET", "short", "KAI_JWT_SECRET"),
        ("KAI_CLAMD_URL", "", "KAI_CLAMD_URL"),
        ("KAI_BROADCAST_URL", "memory://", "KAI_BROADCAST_URL"),
    ],
)
def test_production_refuses_each_unsafe_setting_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    for key, safe in SAFE_PRODUCTION.items():
        monkeypatch.setenv(key, safe)
    monkeypatch.setenv(name, value)

    with pytest.raises(UnsafeSettingsError, match=named):
        Settings(_env_file=None)


def test_production_runs_without_a_scanner_only_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KAI_CLAMD_URL")
    monkeypatch.setenv("KAI_SCANNER", "none")

    settings = Settings(_env_file=None)

    assert not settings.scanning_enabled


def test_production_graphiql_and_introspection_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KAI_GRAPHIQL", "true")
    monkeypatch.setenv("KAI_INTROSPECTION", "true")

    settings = Settings(_env_file=None)

    assert settings.graphiql_enabled
    assert settings.introspection_enabled


def test_a_database_url_names_its_driver_or_gets_the_one_kai_uses() -> None:
    for given, meant in (
        ("postgresql://kai@db/kai", "postgresql+asyncpg://kai@db/kai"),
        ("postgres://kai@db/kai", "postgresql+asyncpg://kai@db/kai"),
        ("POSTGRESQL://kai@db/kai", "postgresql+asyncpg://kai@db/kai"),
        ("postgresql+asyncpg://kai@db/kai", "postgresql+asyncpg://kai@db/kai"),
        ("sqlite:///data/kai.db", "sqlite+aiosqlite:///data/kai.db"),
        (" sqlite+aiosqlite:///kai.db ", "sqlite+aiosqlite:///kai.db"),
    ):
        assert Settings(_env_file=None, database_url=given).resolved_database_url == meant
    for wrong in ("mysql://db/kai", "postgresql+psycopg://db/kai", "db/kai"):
        with pytest.raises(ValidationError, match="database_url"):
            Settings(_env_file=None, database_url=wrong)
