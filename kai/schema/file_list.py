"""`files`: a page of files, filtered and sorted."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from kai.schema.file import File
from kai.schema.pagination import CountedConnection, Edge, OrderDirection, sorting
from kai.services.file_queries import FileFilter as FileFilterValue
from kai.services.pagination import Sorting


@strawberry.type(description="A file in a page.")
class FileEdge(Edge[File]):
    pass


@strawberry.type(description="A page of files.")
class FileConnection(CountedConnection[FileEdge]):
    pass


@strawberry.input(description="Which files to list; every condition given must hold.")
class FileFilter:
    agent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the files of this agent."
    )
    mime_types: list[str] | None = strawberry.field(
        default=None,
        description="Only files of one of these sniffed types, e.g. application/pdf (at most 100).",
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the file's name."
    )
    uploaded_after: datetime | None = strawberry.field(
        default=None, description="Only files uploaded after this moment."
    )
    uploaded_before: datetime | None = strawberry.field(
        default=None, description="Only files uploaded before this moment."
    )

    def value(self) -> FileFilterValue:
        return FileFilterValue(
            agent_id=str(self.agent_id) if self.agent_id is not None else None,
            mime_types=self.mime_types,
            name_contains=self.name_contains,
            uploaded_after=self.uploaded_after,
            uploaded_before=self.uploaded_before,
        )


@strawberry.enum(description="What files can be sorted by (then by id).")
class FileOrderField(enum.Enum):
    UPLOADED_AT = strawberry.enum_value("UPLOADED_AT", description="When it was uploaded.")
    NAME = strawberry.enum_value("NAME", description="Its name, ignoring case.")
    SIZE = strawberry.enum_value("SIZE", description="Its size in bytes.")


@strawberry.input(description="How to sort files.")
class FileOrder:
    field: FileOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(description="Which way.")


def file_sorting(order: FileOrder | None) -> Sorting:
    return sorting(order, "UPLOADED_AT")
