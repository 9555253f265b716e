"""Trusted documents: the manifests graphql-codegen's client preset writes with
`persistedDocuments: true` (`persisted-documents.json`, a JSON object mapping each
document's id to its text), read once at start from the paths of KAI_TRUSTED_DOCUMENTS.

The preset's ids are `sha256:<hex>` by default (the GraphQL-over-HTTP persisted documents
appendix), bare hex with `hashAlgorithm: "sha1"`, or whatever a custom hash function
returns. A document is found by its id as written, by the bare hex of a `sha256:` id, or by
the SHA-256 of its text (what Apollo's persisted queries link sends).

The console's own manifest, built into the package beside its page, is always listed
besides KAI_TRUSTED_DOCUMENTS's; with the mode off, its documents are still found by hash
or id before APQ's registered ones (kai.graphql.extensions.persisted_documents), so that
the console never sends a text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from graphql import GraphQLError, GraphQLSchema, parse, print_schema, validate

SHA256_PREFIX = "sha256:"
SETTING = "KAI_TRUSTED_DOCUMENTS"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# (the documents' digest, the schema's digest) of each check passed in this process: every
# app a process makes (tests make hundreds) serves the same schema and console manifest.
_FITTING: set[tuple[str, str]] = set()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def sha256_of_id(document_id: str) -> str | None:
    """The SHA-256 a document id names (`sha256:<hex>` or 64 hex digits), lowercased."""
    bare = document_id.removeprefix(SHA256_PREFIX)
    return bare.lower() if _HEX64.fullmatch(bare) else None


class ManifestError(ValueError):
    """A manifest that cannot be read, or one that contradicts itself or another."""


class TrustedDocuments:
    """Every document of the manifests: nothing else runs. `source` names them in errors."""

    def __init__(self, documents: dict[str, str], source: str = SETTING):
        self.source = source
        self._by_id: dict[str, str] = {}
        self._by_sha256: dict[str, str] = {}
        for document_id, text in documents.items():
            self._by_id[document_id] = text
            if document_id.startswith(SHA256_PREFIX):
                self._by_id[document_id.removeprefix(SHA256_PREFIX)] = text
            self._by_sha256[sha256_hex(text)] = text
        self._texts = frozenset(documents.values())
        self._ids = dict(documents)

    @classmethod
    def load(cls, paths: Iterable[Path], source: str = SETTING) -> TrustedDocuments:
        documents: dict[str, str] = {}
        for path in paths:
            for document_id, text in _read(path, source).items():
                if documents.get(document_id, text) != text:
                    raise ManifestError(f"{path}: {document_id} names another document elsewhere")
                documents[document_id] = text
        return cls(documents, source)

    @classmethod
    def built_in(cls, path: Path, client: str) -> TrustedDocuments:
        """The manifest of `client`, built into this package at `path` (none when the
        client was not built)."""
        source = f"{client}'s manifest ({path.name}, built into kAI)"
        return cls.load([path], source) if path.is_file() else cls({}, source)

    def __or__(self, other: TrustedDocuments) -> TrustedDocuments:
        """The documents of both (an id may name one document only)."""
        for document_id, text in other._ids.items():
            if self._ids.get(document_id, text) != text:
                raise ManifestError(
                    f"{document_id} names one document in {self.source} "
                    f"and another in {other.source}"
                )
        return TrustedDocuments({**self._ids, **other._ids}, f"{self.source} and {other.source}")

    def check(self, schema: GraphQLSchema) -> None:
        """ManifestError unless every listed document parses and is valid against `schema`:
        a manifest written for another release of the schema names the first few that
        are not, rather than leaving their clients to find out one request at a time."""
        key = (_digest(self._ids), sha256_hex(print_schema(schema)))
        if key in _FITTING:
            return
        problems = []
        for document_id, text in sorted(self._ids.items()):
            try:
                errors = validate(schema, parse(text))
            except GraphQLError as error:
                errors = [error]
            if errors:
                problems.append(f"{document_id}: {errors[0].message}")
        if problems:
            shown = "; ".join(problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ManifestError(
                f"{self.source}: {len(problems)} listed documents do not fit this "
                f"server's schema: {shown}{more}"
            )
        _FITTING.add(key)

    def find(self, *, document_id: str | None, sha256: str | None) -> str | None:
        """The listed document named by `document_id` or by the SHA-256 of its text."""
        if document_id is not None:
            found = self._by_id.get(document_id)
            named = sha256_of_id(document_id)
            if found is None and named is not None:
                found = self._by_sha256.get(named)
            return found
        return self._by_sha256.get(sha256) if sha256 is not None else None

    def __contains__(self, text: object) -> bool:
        return text in self._texts

    def __len__(self) -> int:
        return len(self._by_sha256)


def _digest(documents: dict[str, str]) -> str:
    return sha256_hex(json.dumps(documents, sort_keys=True))


def _read(path: Path, source: str) -> dict[str, str]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise ManifestError(f"{source}: cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object of id -> document")
    for document_id, text in manifest.items():
        if not isinstance(text, str) or not text.strip() or not document_id:
            raise ManifestError(f"{path}: {document_id!r} is not an id and a document")
        hashed = sha256_of_id(document_id) if document_id.startswith(SHA256_PREFIX) else None
        if hashed is not None and hashed != sha256_hex(text):
            raise ManifestError(f"{path}: {document_id} is not the SHA-256 of its document")
    return manifest
