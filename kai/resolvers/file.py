from __future__ import annotations

from typing import Annotated, TypeGuard

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from kai.context import Info
from kai.errors import BadUserInput, KaiError
from kai.models.file import StoredFile
from kai.observability import metrics
from kai.resolvers.agent import load_agent
from kai.schema.file import File, SearchHit
from kai.schema.file_list import FileConnection, FileEdge, FileFilter, FileOrder, file_sorting
from kai.schema.pagination import After, First
from kai.security.principal import Principal
from kai.services.file import MAX_QUERY_CHARS, MAX_SEARCH_LIMIT
from kai.services.file_queries import FileFilter as FileFilterValue
from kai.services.file_queries import visible_to


async def load_file(info: Info, file_id: str, permission: str) -> StoredFile:
    """The file, if the caller holds `permission` on it; else FORBIDDEN or NOT_FOUND (audited).

    Its owner (and ADMIN) acts on it; an API key limited to some agents, only on
    the files of those agents.
    """
    row = await info.context.services.files.get(file_id=file_id)
    principal = await info.context.principal()
    await info.context.authorize(
        permission,
        resource=f"file:{file_id}",
        found=row is not None and visible_to(principal, row),
    )
    assert row is not None
    return row


async def _authorize_scope(info: Info, permission: str, agent_id: str | None) -> Principal:
    """`permission` on one agent's files (its ownership checked) or on the caller's own."""
    if agent_id is not None:
        await load_agent(info, agent_id, permission)
        return await info.context.principal()
    return await info.context.authorize(permission, resource="file:*")


@strawberry.type
class FileQuery:
    @strawberry.field(
        description="The caller's files (ADMIN: everyone's). Newest first unless `orderBy` "
        "says otherwise."
    )
    async def files(
        self,
        info: Info,
        filter: Annotated[
            FileFilter | None,
            strawberry.argument(description="Which files to list; null lists them all."),
        ] = None,
        order_by: Annotated[
            FileOrder | None,
            strawberry.argument(description="How to sort them; null: newest first."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> FileConnection:
        chosen = filter.value() if filter is not None else FileFilterValue()
        principal = await _authorize_scope(info, "file.download", chosen.agent_id)
        page = await info.context.services.files.page(
            principal=principal,
            filter=chosen,
            sorting=file_sorting(order_by),
            first=first,
            after=after,
        )
        return FileConnection.of(page, FileEdge, File.from_row)

    @strawberry.field(description="One file, if the caller may see it.")
    async def file(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The file's id.")],
    ) -> File | None:
        return File.from_row(await load_file(info, str(id), "file.download"))

    @strawberry.field(description="Semantic search over the text of the caller's files.")
    async def search(
        self,
        info: Info,
        query: Annotated[
            str,
            strawberry.argument(
                description=(
                    f"What to look for, matched by meaning; up to {MAX_QUERY_CHARS} characters."
                )
            ),
        ],
        agent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only the passages of this agent's files; null searches them all."
            ),
        ] = None,
        limit: Annotated[
            int | None,
            strawberry.argument(
                description=(
                    f"Most hits to return, 1 to {MAX_SEARCH_LIMIT}; 10 when left out or null."
                )
            ),
        ] = 10,
    ) -> list[SearchHit]:
        principal = await _authorize_scope(
            info, "file.download", str(agent_id) if agent_id is not None else None
        )
        hits = await info.context.services.files.search(
            principal=principal,
            query=query,
            agent_id=str(agent_id) if agent_id is not None else None,
            limit=limit if limit is not None else 10,
        )
        return [
            SearchHit(file=File.from_row(row), chunk=chunk, score=score)
            for row, chunk, score in hits
        ]


@strawberry.type
class FileMutation:
    @strawberry.mutation(
        description=(
            "Uploads a file (GraphQL multipart request). Its type is sniffed from the content "
            "and must be allowed; it is virus-scanned before it is stored."
        )
    )
    async def upload_file(
        self,
        info: Info,
        file: Annotated[
            Upload, strawberry.argument(description="The file's part of the multipart request.")
        ],
        agent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=(
                    "The agent it is for; null for none, which an API key limited to some "
                    "agents may not send."
                )
            ),
        ] = None,
    ) -> File:
        principal = await _authorize_scope(
            info, "file.upload", str(agent_id) if agent_id is not None else None
        )
        if agent_id is None and principal.agent_ids is not None:
            raise BadUserInput(
                "This API key is limited to some agents: upload for one of them.",
                field="agentId",
            )
        if not _is_upload(file):
            raise BadUserInput("file must be a multipart file part.", field="file")
        try:
            row = await info.context.services.files.upload(
                owner_id=principal.user_id,
                agent_id=str(agent_id) if agent_id is not None else None,
                source=file,
            )
        except KaiError as exc:
            metrics.UPLOADS_REFUSED.labels(exc.code.value).inc()
            raise
        # The spooled file is closed with the request (KaiGraphQL): the multipart spec lets
        # one file fill several variables, and the next uploadFile may read it again.
        return File.from_row(row)

    @strawberry.mutation(description="Deletes the file, its stored bytes and its search passages.")
    async def delete_file(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The file to delete.")],
    ) -> strawberry.ID:
        row = await load_file(info, str(id), "file.delete")
        await info.context.services.files.delete(row)
        return strawberry.ID(row.id)


def _is_upload(value: object) -> TypeGuard[UploadFile]:
    return isinstance(value, UploadFile)
