"""deploy/: the compose file is valid for Docker Compose and names only real settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kai.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "MINIO_ROOT_USER": "kai",
    "MINIO_ROOT_PASSWORD": "minio-secret",
    "KAI_JWT_SECRET": "j" * 48,
    "KAI_PUBLIC_URL": "https://kai.example.com",
}


def compose_command() -> list[str]:
    """`docker compose` (the plugin) or `docker-compose`, whichever the machine has."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if legacy := shutil.which("docker-compose"):
        return [legacy]
    if os.environ.get("CI") == "true":
        pytest.fail("CI must check deploy/compose.yaml with Docker Compose")
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", str(COMPOSE), "config"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        cwd=DEPLOY,
        timeout=60,
    )


def test_docker_compose_config_accepts_the_file() -> None:
    result = compose_config(SECRETS)

    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = set(config["services"])
    assert {"api-1", "api-2", "worker-1", "worker-2", "lb", "migrate"} <= services
    assert {"postgres", "redis", "minio", "qdrant", "clamd"} <= services
    api = config["services"]["api-1"]["environment"]
    assert api["KAI_ENV"] == "production"
    assert api["KAI_JWT_SECRET"] == SECRETS["KAI_JWT_SECRET"]


def test_compose_refuses_to_run_without_the_secrets() -> None:
    result = compose_config({k: v for k, v in SECRETS.items() if k != "KAI_JWT_SECRET"})

    assert result.returncode != 0
    assert "KAI_JWT_SECRET" in result.stderr


def test_every_kai_variable_in_deploy_is_a_real_setting() -> None:
    known = {f"KAI_{name.upper()}" for name in Settings.model_fields}
    used = set()
    for path in DEPLOY.iterdir():
        used |= set(re.findall(r"\b(KAI_[A-Z0-9_]+)\b", path.read_text()))

    assert used, "deploy/ names no settings?"
    assert used <= known, f"not settings: {sorted(used - known)}"


def test_production_accepts_the_settings_compose_gives_a_replica() -> None:
    environment = yaml.safe_load(COMPOSE.read_text())["x-kai"]["environment"]
    values: dict[str, Any] = {
        key: re.sub(r"\$\{(\w+)[^}]*\}", lambda m: SECRETS.get(m.group(1), "x"), str(value))
        for key, value in environment.items()
        if key.startswith("KAI_")
    }
    values.pop("KAI_TRUSTED_PROXIES", None)

    settings = Settings(_env_file=None, **{k[4:].lower(): v for k, v in values.items()})

    assert settings.is_production
    assert settings.scanning_enabled
