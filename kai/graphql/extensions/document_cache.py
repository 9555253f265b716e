"""Parsed documents shared by every operation that sends the same text.

Clients send the same few documents over and over; a subscription's document is also
held for as long as it runs, so 5,000 subscribers of one document held 5,000 copies
of its syntax tree (some 8 KiB each, bench/fanout.py). graphql-core never changes a
parsed document, so one copy can serve them all.

Only documents that parsed are kept (a refusal is parsed, and refused, again with its
own error), only short ones (a long text is rare and would pin a large tree), and at
most `size` of them, least recently used first out. The parser's options (kAI's token
limits) are part of the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

from kai.lru import LRU

DEFAULT_SIZE = 256
MAX_CACHED_TEXT = 16 * 1024

Key = tuple[str, tuple[tuple[str, Any], ...]]


class ParsedDocuments:
    """The documents one schema has parsed; share one per schema."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self._documents: LRU[Key, DocumentNode] = LRU(size)

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (Strawberry calls this per operation)."""
        return ShareParsedDocuments(self)

    def get(self, key: Key) -> DocumentNode | None:
        return self._documents.get(key)

    def add(self, key: Key, document: DocumentNode) -> None:
        self._documents.add(key, document)


class ShareParsedDocuments(SchemaExtension):
    def __init__(self, documents: ParsedDocuments):
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        key: Key | None = None
        if (
            context.graphql_document is None
            and context.query is not None
            and len(context.query) <= MAX_CACHED_TEXT
        ):
            options = tuple(sorted(dict(context.parse_options or {}).items()))
            key = (context.query, options)
            context.graphql_document = self.documents.get(key)
            if context.graphql_document is not None:
                key = None  # found: Strawberry will not parse it again
        yield
        if key is not None and context.graphql_document is not None:
            self.documents.add(key, context.graphql_document)
