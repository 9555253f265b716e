"""DateTime values from clients: what is not one, or what no database can hold once in
UTC, is BAD_USER_INPUT in kAI's words (docs/security.md J2), never an internal error or
Python's own message."""

from __future__ import annotations

import pytest

from tests.support.agents import create_echo, signed_in
from tests.support.graphql_client import GraphQLClient

LOGS = """
query Logs($id: ID!, $since: DateTime) {
  agentLogs(agentId: $id, since: $since) { edges { node { id } } }
}
"""
KEY = "mutation Key($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }"
KEYS = "query { apiKeys { edges { node { id } } } }"

OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
NOT_DATES = ["yesterday", "2026-13-45T00:00:00Z", "2026-12-04T25:00:00Z", ""]


@pytest.mark.parametrize("value", OUT_OF_RANGE + NOT_DATES)
async def test_a_bad_since_is_bad_user_input(client: GraphQLClient, value: str) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    refused = await client.execute(LOGS, {"id": agent["id"], "since": value}, token=token)
    assert refused.codes == ["BAD_USER_INPUT"], refused.body
    message = refused.errors[0]["message"]
    assert "isoformat" not in message and "Error" not in message, message


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_an_expiry_no_database_holds_is_refused_and_makes_no_key(
    client: GraphQLClient, value: str
) -> None:
    token = await signed_in(client)
    before = (await client.execute(KEYS, token=token)).ok()["apiKeys"]
    refused = await client.execute(KEY, {"input": {"name": "k", "expiresAt": value}}, token=token)
    assert refused.codes == ["BAD_USER_INPUT"], refused.body
    assert (await client.execute(KEYS, token=token)).ok()["apiKeys"] == before
