"""Persisted documents: Apollo's automatic persisted queries (APQ), and the trusted-documents
mode (H2), on every transport (the HTTP view, both WebSocket handlers and graphql-sse pass
the request's `extensions` here; a top-level `documentId` arrives as `extensions.documentId`).

APQ: `extensions.persistedQuery = {version: 1, sha256Hash}`. Without a query, the document
registered under the hash runs, or the answer is PersistedQueryNotFound (code
PERSISTED_QUERY_NOT_FOUND), on which Apollo's link sends the text too. With a query, the
hash must be its SHA-256; the document is registered once it has parsed and validated (so
the token limit and the schema bound what anyone can store), and runs.

Trusted documents (KAI_TRUSTED_DOCUMENTS): only the manifests' documents run, named by
`documentId` (`sha256:<hex>` or the manifest's id), by an APQ hash, or sent in full. Anything
else is refused with PERSISTED_QUERY_NOT_IN_LIST, as Apollo's router refuses what is not in
its persisted query list, and APQ registers nothing.

A refusal is answered through Strawberry's pre-execution path, as a validation error is:
an exception raised from here escaped Strawberry's stream (SSE, WebSocket) unanswered. The
refused request parses nothing of the client's: it stands in as `{ __typename }` of an
allowed operation type, with the refusal as its only validation error.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from kai.context import Context
from kai.errors import BadUserInput, ErrorCode, KaiError
from kai.graphql.strawberry_seams import requested_operation_name
from kai.graphql.trusted_documents import TrustedDocuments, sha256_hex, sha256_of_id

# A longer document runs but is not registered (its client keeps sending it in full).
MAX_PERSISTED_CHARS = 64 * 1024
MAX_DOCUMENT_ID = 200
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the words Apollo's link looks for
NOT_IN_LIST_MESSAGE = "Only trusted documents run here, and this one is not in the list."
MISMATCH_MESSAGE = "provided sha does not match query"
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


class Refused(Exception):
    def __init__(self, error: KaiError):
        super().__init__(error.message)
        self.error = GraphQLError(error.message, extensions=error.as_extensions())


def _not_found() -> Refused:
    return Refused(KaiError(NOT_FOUND_MESSAGE, code=ErrorCode.PERSISTED_QUERY_NOT_FOUND))


def _not_in_list() -> Refused:
    return Refused(KaiError(NOT_IN_LIST_MESSAGE, code=ErrorCode.PERSISTED_QUERY_NOT_IN_LIST))


@dataclass(frozen=True, slots=True)
class Requested:
    """What a request names besides (or instead of) its text."""

    sha256: str | None  # extensions.persistedQuery.sha256Hash, lowercased
    document_id: str | None  # documentId

    @classmethod
    def read(cls, extensions: dict[str, Any] | None) -> Requested:
        extensions = extensions or {}
        sha256 = document_id = None
        persisted = extensions.get("persistedQuery")
        if persisted is not None:
            if not (
                isinstance(persisted, dict)
                and persisted.get("version") == 1
                and isinstance(persisted.get("sha256Hash"), str)
                and _HASH.fullmatch(persisted["sha256Hash"])
            ):
                message = "extensions.persistedQuery is {version: 1, sha256Hash: <64 hex digits>}."
                raise Refused(BadUserInput(message, field="extensions.persistedQuery"))
            sha256 = persisted["sha256Hash"].lower()
        found = extensions.get("documentId")
        if found is not None:
            if not isinstance(found, str) or not 0 < len(found) <= MAX_DOCUMENT_ID:
                message = f"documentId is a text of 1 to {MAX_DOCUMENT_ID} characters."
                raise Refused(BadUserInput(message, field="documentId"))
            document_id = found
        return cls(sha256, document_id)

    @property
    def anything(self) -> bool:
        return self.sha256 is not None or self.document_id is not None


@dataclass(frozen=True)
class PersistedDocuments:
    """The server's choice: APQ (trusted None), or only the trusted documents. `built_in`:
    the documents of the clients this server ships (the console's), found by id or hash
    in APQ mode too, before APQ's store (which anyone may fill past its cap, so that it
    lets go of the least used) and never registered in it."""

    trusted: TrustedDocuments | None = None
    built_in: TrustedDocuments = field(default_factory=lambda: TrustedDocuments({}))

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (Strawberry calls this per operation)."""
        return PersistedDocumentsExtension(self.trusted, self.built_in)

    async def text(self, context: Context, extensions: dict[str, Any] | None) -> str | None:
        """The text a request without one names, if any (without registering or refusing)."""
        try:
            requested = Requested.read(extensions)
        except Refused:
            return None
        listed = self.trusted if self.trusted is not None else self.built_in
        found = listed.find(document_id=requested.document_id, sha256=requested.sha256)
        if found is not None or self.trusted is not None:
            return found
        sha256 = requested.sha256 or sha256_of_id(requested.document_id or "")
        return await context.services.persisted_documents.get(sha256) if sha256 else None


class PersistedDocumentsExtension(SchemaExtension):
    def __init__(self, trusted: TrustedDocuments | None, built_in: TrustedDocuments):
        self.trusted = trusted
        self.built_in = built_in
        self._refusal: GraphQLError | None = None
        self._register: str | None = None

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        try:
            requested = Requested.read(context.operation_extensions)
            if self.trusted is not None:
                self._only_trusted(context, requested)
            elif requested.anything:
                self._register = await self._automatic(context, requested)
        except Refused as refusal:
            self._refusal = refusal.error
            context.graphql_document = _stand_in(context)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        if self._refusal is not None:
            context.pre_execution_errors = [self._refusal]
        yield
        if self._register is None or context.pre_execution_errors:
            return
        kai_context = context.context
        if isinstance(kai_context, Context) and context.query is not None:
            await kai_context.services.persisted_documents.put(self._register, context.query)

    def _only_trusted(self, context: ExecutionContext, requested: Requested) -> None:
        assert self.trusted is not None
        if context.query is None:
            if requested.anything:
                text = self.trusted.find(document_id=requested.document_id, sha256=requested.sha256)
                if text is None:
                    raise _not_in_list()
                context.query = text
            return  # nothing named at all: Strawberry says so
        _check_hash(context.query, requested.sha256)
        if context.query not in self.trusted:
            raise _not_in_list()

    async def _automatic(self, context: ExecutionContext, requested: Requested) -> str | None:
        """APQ: the stored text put in place, or the hash to register the sent text under."""
        sha256 = requested.sha256 or sha256_of_id(requested.document_id or "")
        kai_context = context.context
        if context.query is not None:
            _check_hash(context.query, sha256)
            keep = len(context.query) <= MAX_PERSISTED_CHARS and context.query not in self.built_in
            return sha256 if keep else None
        text = self.built_in.find(document_id=requested.document_id, sha256=requested.sha256)
        if text is None and sha256 is not None and isinstance(kai_context, Context):
            text = await kai_context.services.persisted_documents.get(sha256)
        if text is None:
            raise _not_found()
        context.query = text
        return None


def _check_hash(query: str, sha256: str | None) -> None:
    if sha256 is not None and sha256_hex(query) != sha256:
        raise Refused(BadUserInput(MISMATCH_MESSAGE, field="extensions.persistedQuery"))


def _stand_in(context: ExecutionContext) -> DocumentNode:
    """`{ __typename }` as an operation this transport runs, under the requested name (so
    that Strawberry can choose it), to carry the refusal."""
    allowed = set(context.allowed_operations)
    order = (OperationType.QUERY, OperationType.SUBSCRIPTION, OperationType.MUTATION)
    kind = next((kind for kind in order if kind in allowed), OperationType.QUERY)
    name = requested_operation_name(context) or ""
    if not _NAME.fullmatch(name):
        name = ""
    return parse(f"{kind.value} {name} {{ __typename }}", no_location=True)
