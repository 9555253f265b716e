"""JSON values from clients are checked before anything is stored: depth, count, finite
numbers (kai.json_values, docs/security.md J1). What the API stores it can always serve."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kai.json_values import MAX_DEPTH, MAX_VALUES, JSONRefused, check_json
from tests.support.agents import create_echo, signed_in
from tests.support.graphql_client import GraphQLClient

ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id payload }
}
"""
TASKS = "query Tasks($id: ID!) { agent(id: $id) { tasks { edges { node { id payload } } } } }"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=40,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(depth - 1):
        value = [value] if level % 2 else {"k": value}
    return value


@given(json_values)
def test_ordinary_json_passes(value: Any) -> None:
    check_json(value)


@settings(max_examples=50)
@given(st.integers(MAX_DEPTH + 1, 5 * MAX_DEPTH), st.sampled_from([1, "x", None, [], {}]))
def test_json_deeper_than_the_limit_is_refused(depth: int, leaf: Any) -> None:
    check_json(nested(MAX_DEPTH, leaf))  # at the limit: fine
    with pytest.raises(JSONRefused, match="levels deep"):
        check_json(nested(depth, leaf))


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_numbers_that_are_not_finite_are_refused(number: float) -> None:
    with pytest.raises(JSONRefused, match="finite"):
        check_json({"a": [1, {"b": number}]})


def test_more_values_than_the_limit_are_refused() -> None:
    check_json(list(range(MAX_VALUES - 1)))
    with pytest.raises(JSONRefused, match="at most"):
        check_json(list(range(MAX_VALUES)))


async def stored_payloads(client: GraphQLClient, token: str, agent_id: str) -> list[Any]:
    result = await client.execute(TASKS, {"id": agent_id}, token=token)
    return [edge["node"]["payload"] for edge in result.ok()["agent"]["tasks"]["edges"]]


async def test_a_deep_payload_is_refused_and_nothing_is_stored(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    for payload in (nested(600), nested(MAX_DEPTH + 1, "x")):
        refused = await client.execute(
            ENQUEUE,
            {"agentId": agent["id"], "input": {"type": "echo", "payload": payload}},
            token=token,
        )
        assert refused.codes == ["BAD_USER_INPUT"], refused.body
        assert "levels deep" in refused.errors[0]["message"]
    assert await stored_payloads(client, token, agent["id"]) == []
    # What is within the limits is stored and served as sent.
    fine = nested(MAX_DEPTH, "x")
    await client.execute(
        ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo", "payload": fine}}, token=token
    )
    assert await stored_payloads(client, token, agent["id"]) == [fine]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_in_variables_are_refused(
    client: GraphQLClient, number: str
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    # Python's json writes NaN and Infinity as these bare words, as some clients do.
    variables = json.dumps({"agentId": agent["id"], "input": {"type": "echo", "payload": 0}})
    body = json.dumps({"query": ENQUEUE, "variables": "VARIABLES"})
    body = body.replace('"VARIABLES"', variables.replace(": 0}", f": {number}}}"))
    response = await client.http.post(
        "/graphql",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
    assert await stored_payloads(client, token, agent["id"]) == []


async def test_an_infinite_number_written_in_the_document_is_refused(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    agent_id = agent["id"]
    document = (
        f'mutation {{ enqueueTask(agentId: "{agent_id}", '
        'input: {type: "echo", payload: {a: 1e400}}) { id } }'
    )
    refused = await client.execute(document, token=token)
    assert refused.codes == ["GRAPHQL_VALIDATION_FAILED"], refused.body
    assert await stored_payloads(client, token, agent["id"]) == []
