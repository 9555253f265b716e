from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from kai.context import Info
from kai.errors import NotFound
from kai.models.file import ScanStatus as ScanStatusValue
from kai.models.file import StoredFile
from kai.schema.enums import described_enum
from kai.schema.node import Node
from kai.schema.user import User

if TYPE_CHECKING:
    from kai.schema.agent import Agent

ScanStatus = described_enum(
    ScanStatusValue,
    name="ScanStatus",
    description="Whether a file was virus-scanned before it was stored.",
    values={
        "CLEAN": "The virus scanner passed it.",
        "SKIPPED": "Not scanned: the server runs without a virus scanner (development only).",
    },
)


@strawberry.type(description="An uploaded file. Its bytes come from `url`.")
class File(Node):
    id: strawberry.ID = strawberry.field(description="Opaque file id.")
    original_name: str = strawberry.field(
        description="Sanitised display name; storage never uses it as a path."
    )
    size: int = strawberry.field(description="Bytes.")
    mime_type: str = strawberry.field(
        description="Type sniffed from the content, not the client's claim."
    )
    checksum: str = strawberry.field(description="SHA-256 of the content, hex.")
    scan_status: ScanStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the virus scanner passed it."
    )
    uploaded_at: datetime = strawberry.field(description="When it was stored.")
    row: strawberry.Private[StoredFile]

    @strawberry.field(description="Who uploaded it.")
    async def uploaded_by(self, info: Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.owner_id)
        if user is None:
            raise NotFound("User")
        return User.from_row(user)

    @strawberry.field(description="The agent it belongs to, if any.")
    async def agent(
        self, info: Info
    ) -> Annotated[Agent, strawberry.lazy("kai.schema.agent")] | None:
        from kai.schema.agent import Agent

        if self.row.agent_id is None:
            return None
        row = await info.context.loaders.agent_by_id.load(self.row.agent_id)
        return Agent.from_row(row) if row is not None else None

    @strawberry.field(
        description=(
            "Short-lived signed download URL (GET; Content-Disposition: attachment). "
            "It expires after KAI_DOWNLOAD_URL_TTL seconds; read the field again for a new one."
        )
    )
    def url(self, info: Info) -> str:
        return str(info.context.services.files.url(self.row))

    @classmethod
    def from_row(cls, row: StoredFile) -> File:
        return cls(
            id=strawberry.ID(row.id),
            original_name=row.original_name,
            size=row.size,
            mime_type=row.mime_type,
            checksum=row.checksum,
            scan_status=row.scan_status,
            uploaded_at=row.uploaded_at,
            row=row,
        )


@strawberry.type(description="A passage of one of the caller's files that matches a search.")
class SearchHit:
    file: File = strawberry.field(description="The file the passage is from.")
    chunk: str = strawberry.field(description="The matching passage of the file's text.")
    score: float = strawberry.field(description="Similarity to the query; higher is closer.")
