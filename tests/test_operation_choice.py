"""Several operations in one document need an operationName (GraphQL over HTTP, and the
GraphQL specification's GetOperation; docs/security.md H1): Strawberry ran the first
one, mutations included."""

from __future__ import annotations

from tests.support.graphql_client import GraphQLClient

TWO = """
mutation Join { register(input: {email: "first@example.com", password: "a long passphrase"}) {
  user { id }
} }
query Ping { __typename }
"""


async def test_several_operations_without_a_name_run_none(client: GraphQLClient) -> None:
    refused = await client.execute(TWO)
    assert refused.codes == ["BAD_USER_INPUT"], refused.body
    assert refused.errors[0]["extensions"]["field"] == "operationName"
    assert refused.data is None
    # The mutation did not run: the address is still free.
    joined = await client.execute(TWO.replace("query Ping { __typename }", ""))
    assert joined.ok()["register"]["user"]["id"]


async def test_the_named_operation_runs(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql", json={"query": TWO, "operationName": "Ping", "variables": {}}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_one_operation_needs_no_name(client: GraphQLClient) -> None:
    assert (await client.execute("{ __typename }")).ok() == {"__typename": "Query"}
