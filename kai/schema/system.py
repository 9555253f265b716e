"""The deployment: its configuration and its backing services, for operators (config.read)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from kai.services.system import ServiceCheck


@strawberry.type(description="The deployment as configured (secrets redacted).")
class SystemConfig:
    environment: str = strawberry.field(description="development or production")
    version: str = strawberry.field(description="The release of kAI this server runs.")
    public_url: str = strawberry.field(
        description="KAI_PUBLIC_URL: where links the server writes (magic links, downloads) point."
    )
    settings: JSON = strawberry.field(
        description=(
            "Every setting by its environment variable name, as this server reads it; "
            'secrets, and passwords in URLs, are "(redacted)".'
        )
    )


@strawberry.type(description="One backing service of the deployment, checked now.")
class ServiceStatus:
    role: str = strawberry.field(
        description="database, broker, tasks, blobs, vectors, embeddings, scanner, mail, tracing"
    )
    kind: str = strawberry.field(
        description=(
            "What serves that role here, e.g. postgresql, sqlite, redis, memory, s3, local, "
            "qdrant, clamd, none."
        )
    )
    ok: bool = strawberry.field(
        description="It answered its check (true too for a role with nothing to reach)."
    )
    latency_ms: float | None = strawberry.field(
        description="Round trip of the check, null when not checked."
    )
    version: str | None = strawberry.field(
        description="The version the service reports (PostgreSQL, SQLite, Redis), if any."
    )
    detail: str | None = strawberry.field(description="Why it is not ok, in one line.")

    @classmethod
    def of(cls, check: ServiceCheck) -> ServiceStatus:
        return cls(
            role=check.role,
            kind=check.kind,
            ok=check.ok,
            latency_ms=check.latency_ms,
            version=check.version,
            detail=check.detail,
        )
