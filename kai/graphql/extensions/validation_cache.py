"""Documents that passed validation once are not validated again.

Validating even `{ me { id email } }` walks the document once per rule (some thirty
of graphql-core's, Strawberry's and kAI's limits), building each rule's visitor anew:
about 40% of the server's time for that query (bench/http.py). Clients send the same
few documents over and over, so a document that passed is remembered, by the SHA-256
of its text and the rules it passed, and passes again without the walk.

Sound because validation depends on nothing else: the text parses to the same
document (the parser's limits included, which come before validation), the schema is
the cache's own (one cache per schema), and no rule looks at variable values or at
the caller. Documents that fail are never remembered: each one is validated again and
gets its own errors. The cache is bounded (least recently used first out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from kai.lru import LRU

DEFAULT_SIZE = 512

Key = tuple[bytes, tuple[type, ...]]


class ValidDocuments:
    """The documents one schema has found valid; share one per schema."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self._keys: LRU[Key, bool] = LRU(size)

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (Strawberry calls this per operation)."""
        return SkipValidationOfValidDocuments(self)

    def __contains__(self, key: Key) -> bool:
        return key in self._keys

    def add(self, key: Key) -> None:
        self._keys.add(key, True)


class SkipValidationOfValidDocuments(SchemaExtension):
    def __init__(self, valid: ValidDocuments):
        self.valid = valid

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key: Key | None = None
        if context.query is not None and context.pre_execution_errors is None:
            rules = tuple(context.validation_rules)
            key = (hashlib.sha256(context.query.encode("utf-8", "surrogatepass")).digest(), rules)
            if key in self.valid:
                # Strawberry validates only while no errors are set: none, as last time.
                context.pre_execution_errors = []
        yield
        if key is not None and context.pre_execution_errors == []:
            self.valid.add(key)
