"""Settings: every `KAI_*` environment variable (or `.env` line) in one place."""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from kai.database_urls import with_async_driver
from kai.jwt_secret import (
    UnsafeSettingsError,
    development_secret,
)
from kai.networks import Network, parse_networks
from kai.origins import BrowserOrigins
from kai.production_settings import unsafe_production_settings

# What users' URLs may reach in development when KAI_EGRESS_ALLOWED_NETWORKS is unset.
DEVELOPMENT_EGRESS = ("127.0.0.0/8", "::1/128")
DEFAULT_MIME_TYPES = (
    "text/plain",
    "application/pdf",
    "image/jpeg",
    "image/png",
    "application/json",
)


def release() -> str:
    """This release of kAI (`kai --version`, the `config` query)."""
    try:
        return version("kai")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KAI_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".kai")
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Comma-separated in the environment: KAI_ALLOWED_ORIGINS=https://a.example,https://b.example
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    # Unset: JSON lines in production, readable text in development.
    log_format: Literal["text", "json"] | None = None
    # Unset: on in development; in production on only with KAI_METRICS_TOKEN, since
    # /metrics shares the API's port (counts, routes and timings are not for strangers).
    metrics_enabled: bool | None = None
    # When set, GET /metrics asks for `Authorization: Bearer <token>` (Prometheus:
    # `authorization: {credentials: ...}`); required to serve metrics in production.
    metrics_token: SecretStr | None = None
    # OTLP/HTTP collector (e.g. http://otel-collector:4318). Unset: no tracing at all.
    otel_endpoint: str | None = None
    otel_service_name: str = "kai"
    otel_sample_ratio: float = Field(default=0.1, ge=0, le=1)
    # On SIGTERM: how long in-flight requests may finish after WebSockets are closed.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "EdDSA"] = "HS256"
    jwt_private_key: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "kai"
    jwt_audience: str = "kai-api"
    jwt_leeway_seconds: int = 10

    access_token_ttl_seconds: int = 3600
    session_idle_timeout_seconds: int = 7 * 24 * 3600
    session_max_lifetime_seconds: int = 30 * 24 * 3600
    magic_link_ttl_seconds: int = Field(default=600, le=600, gt=0)
    magic_link_path: str = "/magic-link"
    api_key_ttl_days: int = Field(default=365, gt=0)
    # No key lives longer than this, whatever its maker asks (docs/security.md K7).
    api_key_max_ttl_days: int = Field(default=365, gt=0)

    smtp_url: str | None = None
    smtp_from: str = "kAI <no-reply@localhost>"

    graphiql: bool | None = None
    introspection: bool | None = None
    field_suggestions: bool | None = None
    # Queries (never mutations) over GET: handy in development, a CSRF surface in production.
    allow_get: bool | None = None
    permissions: dict[str, list[str]] | None = None

    max_body_bytes: int = 1024 * 1024
    # Every GraphQL document, HTTP and WebSocket alike (G1-G3, W4): QUERY_TOO_COMPLEX past them.
    max_query_depth: int = Field(default=10, gt=0)
    max_aliases: int = Field(default=15, gt=0)
    max_query_tokens: int = Field(default=2000, gt=0)
    # Bounds running an HTTP query or mutation (G5); above command_timeout_seconds, so a
    # sendCommand can answer with its own timeout first.
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    # Comma-separated paths of persisted-documents manifests (graphql-codegen's client
    # preset): when set, only the documents they list run (H2); APQ registers nothing.
    trusted_documents: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # Documents kept for automatic persisted queries; past it the least recently used go.
    apq_max_documents: int = Field(default=10_000, gt=0)

    broadcast_url: str = "memory://"
    command_timeout_seconds: float = Field(default=30.0, gt=0)
    heartbeat_timeout_seconds: float = Field(default=30.0, gt=0)
    event_retention_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    event_retention_count: int = Field(default=10_000, gt=0)
    subscriber_buffer: int = Field(default=1000, gt=0)
    ws_auth_check_seconds: float = Field(default=5.0, gt=0)

    task_concurrency: int = Field(default=4, gt=0)
    # Task slots kept for the server's own work (file indexing), beside task_concurrency:
    # users' tasks never take them, so no user can hold system work up.
    task_system_concurrency: int = Field(default=1, gt=0)
    # A task given no timeoutSeconds gets this one: no task runs without end.
    task_default_timeout_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    # How long indexing one file may take (text extraction and embedding).
    index_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # Per user: agents owned, tasks waiting (PENDING), tasks running at once.
    quota_agents_per_user: int = Field(default=100, ge=0)
    quota_queued_tasks_per_user: int = Field(default=1000, ge=0)
    quota_running_tasks_per_user: int = Field(default=2, gt=0)
    # Open WebSockets of one user on one server process; remote agents' processes count too.
    quota_sockets_per_user: int = Field(default=100, gt=0)
    # Schedules per user (QUOTA_EXCEEDED past it), and the least time between two runs of
    # one schedule: a timetable running more often is refused, and runs never come closer.
    quota_schedules_per_user: int = Field(default=100, ge=0)
    # Approvals one user's requests (commands, tasks, their agents' processes) may hold open
    # at once: past it QUOTA_EXCEEDED, so that no process floods the people who decide.
    quota_pending_approvals_per_user: int = Field(default=100, ge=0)
    schedule_min_interval_seconds: float = Field(default=60.0, ge=1)
    # How often every process looks for due schedules (a run starts at most this late).
    schedule_tick_seconds: float = Field(default=1.0, gt=0)
    # For tests only: schedules read the time from this file (ISO 8601), not the clock.
    schedule_clock_file: Path | None = None
    task_lease_seconds: float = Field(default=30.0, gt=0)
    task_heartbeat_seconds: float = Field(default=1.0, gt=0)
    # At most one stored TASK_PROGRESS event per task this often (0: every report); the
    # last value reported is always delivered (kai.workers.progress). Reports this far
    # apart are each stored, as before there was coalescing; bursts are bounded.
    task_progress_interval_seconds: float = Field(default=0.1, ge=0)
    task_sweep_seconds: float = Field(default=1.0, gt=0)
    task_backoff_seconds: float = Field(default=1.0, ge=0)
    # Unset: tasks run inside the server. Set: on a Redis stream, run by `kai worker`s.
    redis_url: str | None = None
    task_stream: str = "kai:tasks"
    task_consumer_group: str = "kai-workers"
    task_stream_maxlen: int = Field(default=10_000, ge=100)
    task_redeliver_seconds: float = Field(default=300.0, gt=0)
    task_reclaim_lock_seconds: float = Field(default=10.0, gt=0)
    # More agent types, each `module:factory` (a callable returning a Runtime).
    runtimes_extra: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0)
    ws_max_subscriptions: int = Field(default=100, gt=0)
    # permessage-deflate costs some 40 KiB of zlib state per socket, on both sides.
    ws_compression: bool = False

    # Files: uploads, scanning, storage, downloads and search.
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    # Comma-separated in the environment; checked against the type sniffed from the content.
    allowed_mime_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_MIME_TYPES)
    )
    # tcp://host:port, unix:///path or a socket path. Unset: no scanning (development only).
    clamd_url: str | None = None
    clamd_timeout_seconds: float = Field(default=60.0, gt=0)
    # "none" lets production run without a virus scanner, deliberately.
    scanner: Literal["clamd", "none"] | None = None
    # Local blob directory (default <data_dir>/files); ignored when KAI_S3_BUCKET is set.
    files_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    download_url_ttl: int = Field(default=300, gt=0, le=7 * 24 * 3600)
    # Unset: Qdrant local mode under <data_dir>/qdrant. A URL: a Qdrant server. ":memory:" too.
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_collection: str = "kai_files"
    # Unset: WordLlama in-process. Set: an OpenAI-compatible /v1/embeddings endpoint.
    embeddings_url: str | None = None
    embeddings_model: str = "text-embedding-3-small"
    embeddings_api_key: SecretStr | None = None
    # At most this many characters of a file's text are indexed for search.
    index_max_chars: int = Field(default=2_000_000, gt=0)
    # A file's text is read by a child process with these bounds (a hostile PDF costs
    # that process, never the server's): past them the file is just not searchable.
    extract_timeout_seconds: float = Field(default=60.0, gt=0)
    extract_max_memory_mb: int = Field(default=1024, ge=64)

    rate_limit_auth_per_ip: int = 30
    rate_limit_auth_per_account: int = 10
    rate_limit_auth_window_seconds: float = 300.0
    # Root fields per minute, per user (session) or API key; anonymous calls per client IP.
    # 0: unlimited.
    rate_limit_query_per_minute: int = Field(default=600, ge=0)
    rate_limit_mutation_per_minute: int = Field(default=120, ge=0)
    rate_limit_subscribe_per_minute: int = Field(default=60, ge=0)
    rate_limit_upload_per_minute: int = Field(default=30, ge=0)
    rate_limit_agent_per_minute: int = Field(default=6000, ge=0)
    rate_limit_anonymous_per_minute: int = Field(default=120, ge=0)
    # Comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Comma-separated IPs or CIDRs that URLs users supply (an llm agent's baseUrl) may
    # reach although they are not public: loopback, private, link-local, shared, ...
    # Unset: loopback in development (a local Ollama or vLLM), nothing in production.
    egress_allowed_networks: Annotated[list[str] | None, NoDecode] = None
    # Webhooks per user; the delays between attempts (comma-separated seconds, each
    # jittered by a fifth; then FAILED); one attempt's timeout; a sender's hold on a
    # delivery; deliveries in flight per process, endpoint and owner; the circuit breaker
    # (failed attempts in a row, then no attempt for this long, doubling); the senders' look.
    quota_webhooks_per_user: int = Field(default=20, ge=0)
    webhook_retry_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=16, gt=0)
    webhook_endpoint_concurrency: int = Field(default=4, gt=0)
    webhook_owner_concurrency: int = Field(default=8, gt=0)
    webhook_breaker_failures: int = Field(default=5, gt=0)
    webhook_breaker_seconds: float = Field(default=60.0, gt=0)
    webhook_poll_seconds: float = Field(default=0.25, gt=0)
    # Threads (docs/threads.md).
    quota_threads_per_user: int = Field(default=1000, ge=0)
    quota_messages_per_thread: int = Field(default=10_000, gt=0)
    max_message_chars: int = Field(default=100_000, gt=0, le=1_000_000)
    # What an llm agent is sent of a thread's history, in tokens (oldest dropped first).
    thread_history_tokens: int = Field(default=8000, gt=0)
    # How long a thread stays busy after the process answering it stopped renewing.
    thread_run_lease_seconds: float = Field(default=30.0, gt=0)

    @field_validator(
        "allowed_origins",
        "runtimes_extra",
        "allowed_mime_types",
        "trusted_proxies",
        "egress_allowed_networks",
        "trusted_documents",
        "webhook_retry_seconds",
        mode="before",
    )
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_only(cls, value: list[str]) -> list[str]:
        """Each entry `*` or an origin (scheme://host[:port]); a URL with a path is a
        mistake that would never match a browser's Origin header."""
        normalize_allowed_origins(value)  # ValueError names the entry
        return value

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str) -> str:
        return with_async_driver(value)  # postgresql:// means asyncpg

    @field_validator("trusted_proxies", "egress_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str] | None) -> list[str] | None:
        parse_networks(value or ())  # a typo here would silently trust nobody, or everybody
        return value

    @model_validator(mode="after")
    def _share_events_with_workers(self) -> Settings:
        # Workers are other processes: their progress and the cancels they obey
        # must travel between processes, so memory:// will not do.
        if self.redis_url and self.broadcast_url.startswith("memory"):
            if "broadcast_url" in self.model_fields_set:
                raise ValueError("KAI_REDIS_URL needs a shared KAI_BROADCAST_URL, not memory://")
            self.broadcast_url = self.redis_url
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = self.unsafe_production_settings()
        if problems:
            raise UnsafeSettingsError("refusing to start in production: " + "; ".join(problems))
        return self

    def unsafe_production_settings(self) -> list[str]:
        return unsafe_production_settings(self)

    @property
    def scanning_enabled(self) -> bool:
        if self.scanner == "clamd" and not self.clamd_url:
            raise UnsafeSettingsError("KAI_SCANNER=clamd needs KAI_CLAMD_URL")
        return self.scanner != "none" and bool(self.clamd_url)

    @property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    @property
    def resolved_qdrant_location(self) -> str:
        return self.qdrant_url or str(self.data_dir / "qdrant")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_egress_allowed_networks(self) -> tuple[Network, ...]:
        if self.egress_allowed_networks is not None:
            return parse_networks(self.egress_allowed_networks)
        return () if self.is_production else parse_networks(DEVELOPMENT_EGRESS)

    @property
    def metrics_served(self) -> bool:
        if self.metrics_enabled is not None:
            return self.metrics_enabled
        return not self.is_production or self.metrics_token is not None

    @property
    def browser_origins(self) -> BrowserOrigins:
        """The pages that may use the API from a browser: CORS and WebSocket Origin (H2)."""
        return BrowserOrigins.configured(
            public_url=self.public_url,
            allowed_origins=self.allowed_origins,
            development=not self.is_production,
        )

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" if self.log_format else self.is_production

    @property
    def field_suggestions_enabled(self) -> bool:
        if self.field_suggestions is not None:
            return self.field_suggestions
        return not self.is_production

    @property
    def get_queries_enabled(self) -> bool:
        return self.allow_get if self.allow_get is not None else not self.is_production

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'kai.db'}"

    def signing_keys(self) -> tuple[Any, Any]:
        """(signing key, verification key) for the configured JWT algorithm."""
        if self.jwt_algorithm.startswith("HS"):
            secret = (
                self.jwt_secret.get_secret_value()
                if self.jwt_secret is not None
                else development_secret(self.data_dir)
            )
            return secret, secret
        if not (self.jwt_private_key and self.jwt_public_key):
            raise UnsafeSettingsError(
                f"KAI_JWT_ALGORITHM={self.jwt_algorithm} needs KAI_JWT_PRIVATE_KEY "
                "and KAI_JWT_PUBLIC_KEY (PEM)"
            )
        return self.jwt_private_key.get_secret_value(), self.jwt_public_key
