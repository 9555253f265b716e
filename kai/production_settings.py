"""What `KAI_ENV=production` refuses to start with: each check names the setting to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from kai.jwt_secret import MIN_SECRET_BYTES, PLACEHOLDER_SECRETS
from kai.origins import ANY_ORIGIN


class Checked(Protocol):
    """What the checks read of kai.config.Settings (which imports this module)."""

    @property
    def jwt_algorithm(self) -> str: ...
    @property
    def jwt_secret(self) -> SecretStr | None: ...
    @property
    def jwt_private_key(self) -> SecretStr | None: ...
    @property
    def jwt_public_key(self) -> str | None: ...
    @property
    def database_url(self) -> str: ...
    @property
    def public_url(self) -> str: ...
    @property
    def broadcast_url(self) -> str: ...
    @property
    def metrics_enabled(self) -> bool | None: ...
    @property
    def metrics_token(self) -> SecretStr | None: ...
    @property
    def scanner(self) -> str | None: ...
    @property
    def clamd_url(self) -> str | None: ...
    @property
    def schedule_clock_file(self) -> Path | None: ...
    @property
    def allowed_origins(self) -> list[str]: ...


def unsafe_production_settings(settings: Checked) -> list[str]:
    """What makes these settings unfit for production, one sentence each (empty: none)."""
    problems: list[str] = []
    if settings.jwt_algorithm.startswith("HS"):
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        if len(secret.encode()) < MIN_SECRET_BYTES or secret.lower() in PLACEHOLDER_SECRETS:
            problems.append(
                f"KAI_JWT_SECRET must be set to at least {MIN_SECRET_BYTES} random bytes"
            )
    elif not (settings.jwt_private_key and settings.jwt_public_key):
        problems.append("KAI_JWT_PRIVATE_KEY and KAI_JWT_PUBLIC_KEY are required")
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        problems.append("KAI_DATABASE_URL must point at PostgreSQL, not SQLite")
    if not settings.public_url.startswith("https://"):
        problems.append("KAI_PUBLIC_URL must be an https:// URL")
    if settings.broadcast_url.startswith("memory"):
        problems.append(
            "KAI_BROADCAST_URL (or KAI_REDIS_URL) must name a shared broker, not memory://: "
            "replicas and workers would not see each other's events"
        )
    if settings.metrics_enabled and not settings.metrics_token:
        problems.append(
            "KAI_METRICS_TOKEN must be set to serve /metrics (or KAI_METRICS_ENABLED=false)"
        )
    if settings.scanner != "none" and not settings.clamd_url:
        problems.append("KAI_CLAMD_URL must point at clamd (or KAI_SCANNER=none, deliberately)")
    if settings.schedule_clock_file is not None:
        problems.append("KAI_SCHEDULE_CLOCK_FILE is for tests: schedules must keep real time")
    if ANY_ORIGIN in settings.allowed_origins:
        problems.append(
            "KAI_ALLOWED_ORIGINS must name origins, not *: any web page could call the API"
        )
    return problems
