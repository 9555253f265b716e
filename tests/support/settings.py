"""Settings for a test's app: development defaults that let tests run fast and often, and
the production profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kai.config import Settings
from tests.support.redis_server import redis_url_or_skip

TEST_SECRET = "test-secret-" + "x" * 40
# Housekeeping that would run, and send statements, while a test counts its own: the task
# sweep, the schedule tick and the webhook senders' look, each once at start, then hourly.
QUIET_HOUSEKEEPING: dict[str, Any] = {
    "task_sweep_seconds": 3600,
    "schedule_tick_seconds": 3600,
    "webhook_poll_seconds": 3600,
}


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
        # One test user often owns and runs many; tests/test_task_shares.py lowers these.
        "quota_agents_per_user": 100_000,
        "quota_queued_tasks_per_user": 100_000,
        "quota_running_tasks_per_user": 100_000,
        "quota_sockets_per_user": 100_000,
        # In-memory Qdrant: each test's index starts empty and costs no disk.
        "qdrant_url": ":memory:",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def production(database: str, tmp_path: Path, **overrides: Any) -> Settings:
    """What production needs to start: PostgreSQL, a shared broker (the test Redis),
    an explicit choice about the virus scanner."""
    return make_settings(
        database,
        tmp_path,
        env="production",
        public_url="https://kai.example.com",
        jwt_secret="p" * 48,
        scanner="none",
        broadcast_url=redis_url_or_skip(),
        **overrides,
    )
