"""Parsed documents are shared between operations of the same text, and only those."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from kai.graphql.extensions import document_cache
from tests.support.agents import signed_in
from tests.support.graphql_client import GraphQLClient


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the cache missed (Strawberry parsed them)."""
    missed: list[str] = []
    get = document_cache.ParsedDocuments.get

    def recording_get(self: document_cache.ParsedDocuments, key: Any) -> Any:
        document = get(self, key)
        if document is None:
            missed.append(key[0])
        return document

    monkeypatch.setattr(document_cache.ParsedDocuments, "get", recording_get)
    return missed


async def test_the_same_text_is_parsed_once(client: GraphQLClient, parses: list[str]) -> None:
    token = await signed_in(client)
    parses.clear()
    for _ in range(3):
        assert (await client.execute("{ me { email } }", token=token)).ok()["me"]["email"]
    assert parses == ["{ me { email } }"]


async def test_a_document_that_does_not_parse_is_refused_every_time(
    client: GraphQLClient, parses: list[str]
) -> None:
    token = await signed_in(client)
    parses.clear()
    for _ in range(2):
        result = await client.execute("{ me { email }", token=token)
        assert result.codes == ["GRAPHQL_PARSE_FAILED"]
    assert parses == ["{ me { email }"] * 2


async def test_a_document_over_the_token_limit_is_refused_every_time(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    query = "{ me { " + "email " * 2100 + "} }"
    for _ in range(2):
        result = await client.execute(query, token=token)
        assert result.codes == ["QUERY_TOO_COMPLEX"]


def test_the_cache_is_bounded() -> None:
    documents = document_cache.ParsedDocuments(size=2)
    for text in ("{ a }", "{ b }", "{ c }"):
        documents.add((text, ()), parse(text))
    assert documents.get(("{ a }", ())) is None
    assert documents.get(("{ c }", ())) is not None
