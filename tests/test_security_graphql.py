"""docs/security.md "GraphQL layer" G1-G5, and W4's "G1-G3 apply to subscription documents".

G1 depth, G2 aliases, G3 tokens: refused with QUERY_TOO_COMPLEX while the
document is parsed and validated, over HTTP and WebSocket alike, so that no
resolver runs (an over-limit mutation creates nothing). Introspection is not
counted toward the depth but bounded on its own. G4: a JSON array of
operations is refused whole. G5: `first` is capped at 500, and an HTTP query
or mutation that runs past KAI_REQUEST_TIMEOUT_SECONDS is cancelled and
answered 503 / SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from graphql import build_client_schema, get_introspection_query
from sqlalchemy import func, select

from kai.models.command import CommandRecord
from kai.models.session import AuthSession
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.fake_openai import SilentLLM, silent_llm
from tests.support.graphql_client import DEFAULT_PASSWORD, LOGIN, GraphQLClient, nodes
from tests.support.settings import make_settings
from tests.support.subscriptions import OVER_LIMIT_SUBSCRIPTIONS, aliased, kai_server
from tests.support.ws_client import PROTOCOLS, ws_connect

__all__ = ["silent_llm"]  # a fixture used here

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# KAI_REQUEST_TIMEOUT_SECONDS of the G5 tests: every request of their own set-up (a sign-up
# and its password hash, an agent made) must fit in it on a busy two-core machine too.
G5_TIMEOUT = 2.0
AGENTS = "query { agents { edges { node { id } } } }"
USERS = "query { users { edges { node { id } } } }"

# Exactly 10 fields deep: agent tasks edges node agent tasks edges node agent id.
DEPTH_10 = """
query Deep($id: ID!) {
  agent(id: $id) { tasks { edges { node { agent { tasks { edges { node {
    agent { id }
  } } } } } } } }
}
"""
# 11 deep: ... agent owner id.
DEPTH_11 = """
query Deep($id: ID!) {
  agent(id: $id) { tasks { edges { node { agent { tasks { edges { node {
    agent { owner { id } }
  } } } } } } } }
}
"""
# The same 11 levels, hidden in fragments and an inline fragment.
DEPTH_11_IN_FRAGMENTS = """
query Deep($id: ID!) { agent(id: $id) { ...Tasks } }
fragment Tasks on Agent { tasks { edges { node { ...Back } } } }
fragment Back on Task { agent { tasks { edges { node { ... on Task { agent { ...Owner } } } } } } }
fragment Owner on Agent { owner { id } }
"""
# A mutation 11 deep: refused, so no agent is created.
CREATE_DEPTH_11 = """
mutation Create($input: AgentConfigInput!) {
  createAgent(input: $input) { tasks { edges { node { agent { tasks { edges { node {
    agent { owner { id } }
  } } } } } } } }
}
"""
ECHO_INPUT = {"input": {"name": "deep", "type": "echo"}}
EVENTS = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq agentId type data timestamp }
}
"""
AUDIT_BY_REQUEST = """
query Audit($action: String) {
  auditLog(action: $action, first: 500) { edges { node { action granted requestId } } }
}
"""


def register_all(count: int, prefix: str) -> str:
    """One mutation registering `count` accounts, each under its own alias."""
    fields = " ".join(
        f'r{i}: register(input: {{email: "{prefix}{i}@example.com", '
        f'password: "{DEFAULT_PASSWORD}"}}) {{ user {{ id }} }}'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


async def assert_no_account(client: GraphQLClient) -> None:
    """Nobody registered: the next account is the first, so it becomes ADMIN."""
    first = await client.register("after@example.com")
    assert first["user"]["role"] == "ADMIN"
    users = nodes((await client.execute(USERS, token=first["accessToken"])).ok()["users"])
    assert len(users) == 1


def refused(result: Any, *parts: str) -> None:
    """One QUERY_TOO_COMPLEX error, whose message says which limit and its value."""
    assert result.codes == [TOO_COMPLEX], result.body
    assert result.body.get("data") is None
    message = result.errors[0]["message"]
    for part in parts:
        assert part in message, message


# --- G1: depth ----------------------------------------------------------------------------


async def test_G1_a_query_10_fields_deep_runs(client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    result = await client.execute(DEPTH_10, {"id": agent["id"]}, token=token)

    assert result.ok()["agent"]["tasks"]["edges"] == []


@pytest.mark.parametrize("query", [DEPTH_11, DEPTH_11_IN_FRAGMENTS], ids=["plain", "fragments"])
async def test_G1_a_query_11_fields_deep_is_query_too_complex(
    client: GraphQLClient, query: str
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    result = await client.execute(query, {"id": agent["id"]}, token=token)

    refused(result, "'Deep'", "11 fields deep", "depth limit is 10")


async def test_G1_an_over_deep_mutation_is_refused_before_any_resolver_runs(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)

    result = await client.execute(CREATE_DEPTH_11, ECHO_INPUT, token=token)

    refused(result, "11 fields deep", "10")
    assert nodes((await client.execute(AGENTS, token=token)).ok()["agents"]) == []


async def test_G1_the_depth_limit_is_the_setting(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", max_query_depth=5)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)

        within = await client.execute(
            "query { me { id } agents { edges { node { owner { id } } } } }", token=token
        )
        over = await client.execute(
            "query { agents { edges { node { tasks { pageInfo { hasNextPage } } } } } }",
            token=token,
        )

    assert within.ok()["me"]["id"]
    refused(over, "The operation is 6 fields deep", "depth limit is 5")


async def test_G1_the_standard_introspection_query_is_not_counted_toward_the_depth(
    database_url: str, tmp_path: Path
) -> None:
    # What GraphiQL and code generators send: `ofType` nests 9 deep in TypeRef.
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
        one_of=True,
    )
    settings = make_settings(database_url, tmp_path / "data", max_query_depth=3)
    async with running_app(settings) as app, client_at(app) as client:
        result = await client.execute(query)

    schema = build_client_schema(result.ok())
    assert schema.query_type is not None and schema.query_type.name == "Query"
    assert schema.get_type("Agent") is not None


async def test_G1_introspection_of_one_type_with_its_wrappers_runs(client: GraphQLClient) -> None:
    of_type = "ofType { " * 10 + "kind name" + " }" * 10
    query = f'{{ __type(name: "Agent") {{ fields {{ name type {{ {of_type} }} }} }} }}'

    result = await client.execute(query)

    assert result.ok()["__type"]["fields"]


CIRCULAR_INTROSPECTION = {
    "fields-in-fields": (
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        "'fields' inside 'fields'",
    ),
    "type-in-type": (
        '{ __type(name: "Agent") { fields { args { type { inputFields { type { name } } } } } } }',
        "'type' inside 'type'",
    ),
    "through-fragments": (
        "{ __schema { types { ...T } } }"
        " fragment T on __Type { fields { type { ...U } } }"
        " fragment U on __Type { fields { name } }",
        "'fields' inside 'fields'",
    ),
    "three-nested-lists": (
        '{ __type(name: "Agent") { fields { type { interfaces { possibleTypes { name } } } } } }',
        "3 deep; the limit is 2",
    ),
    "of-type-11-deep": (
        '{ __type(name: "Agent") { ' + "ofType { " * 11 + "name" + " }" * 11 + " } }",
        "'ofType' 11 deep; the limit is 10",
    ),
}


@pytest.mark.parametrize(
    ("query", "says"), CIRCULAR_INTROSPECTION.values(), ids=CIRCULAR_INTROSPECTION.keys()
)
async def test_G1_circular_introspection_is_query_too_complex(
    client: GraphQLClient, query: str, says: str
) -> None:
    result = await client.execute(query)

    refused(result, says)


async def test_G1_a_fragment_bomb_in_introspection_is_refused_at_once(
    client: GraphQLClient,
) -> None:
    # Each fragment spreads the next twice: 2**60 paths, in a few hundred tokens.
    levels = 60
    fragments = "".join(
        f" fragment F{i} on __Type {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = (
        '{ __type(name: "Agent") { ...F0 } }'
        + fragments
        + f" fragment F{levels} on __Type {{ name }}"
    )

    started = time.monotonic()
    result = await client.execute(query)

    refused(result, "more than 2000 selections")
    assert time.monotonic() - started < 2


# --- G2: aliases --------------------------------------------------------------------------


async def test_G2_15_aliases_run(client: GraphQLClient) -> None:
    result = await client.execute(f"query {{ {aliased(15)} }}")

    assert len(result.ok()) == 15


async def test_G2_16_aliases_are_query_too_complex(client: GraphQLClient) -> None:
    result = await client.execute(f"query {{ {aliased(16)} }}")

    refused(result, "16 aliases", "alias limit is 15")


async def test_G2_sixteen_aliased_registrations_register_nobody(client: GraphQLClient) -> None:
    result = await client.execute(register_all(16, "alias"))

    refused(result, "16 aliases")
    await assert_no_account(client)


async def test_G2_aliases_in_fragments_count_each_time_they_are_spread(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    query = (
        "query { me { ...U } again: me { ...U } }"
        f" fragment U on User {{ {aliased(8, 'id')} }}"
    )

    result = await client.execute(query, token=token)

    refused(result, "17 aliases", "alias limit is 15")


async def test_G2_a_fragment_bomb_of_aliases_is_refused_at_once(client: GraphQLClient) -> None:
    levels = 60
    fragments = "".join(
        f" fragment F{i} on Query {{ a{i}: __typename ...F{i + 1} ...F{i + 1} }}"
        for i in range(levels)
    )
    query = "{ ...F0 }" + fragments + f" fragment F{levels} on Query {{ __typename }}"

    started = time.monotonic()
    result = await client.execute(query)

    refused(result, "over 10000 aliases", "alias limit is 15")
    assert time.monotonic() - started < 2


# --- G3: tokens ---------------------------------------------------------------------------


PADDING = (
    "me { id }",
    "agents { totalCount }",
    "apiKeys { totalCount }",
    "agentTypes { name }",
    "files { totalCount }",
)


def tokens(count: int) -> str:
    """A valid document of exactly `count` tokens: operations `query Qn { me { id } }`
    (8 tokens each), the rest as `__typename`s in Q0 (1 token each).

    Not one selection of hundreds of fields: checking that repeated fields merge costs
    the square of the repeats, and is budgeted (C2); operations are checked apart.
    """
    operations = [f"query Q{n} {{ me {{ id }} }}" for n in range(count // 8)]
    operations[0] = operations[0][:-2] + " __typename" * (count % 8) + " }"
    return "\n".join(operations)


async def test_G3_a_document_of_2000_tokens_runs(client: GraphQLClient) -> None:
    token = await signed_in(client)

    response = await client.http.post(
        "/graphql",
        json={"query": tokens(2000), "operationName": "Q0"},
        headers={"authorization": f"Bearer {token}"},
    )

    assert response.json()["data"]["me"]["id"], response.json()


async def test_G3_a_document_over_2000_tokens_is_query_too_complex(client: GraphQLClient) -> None:
    token = await signed_in(client)

    result = await client.execute(tokens(2001), token=token)

    refused(result, "more than 2000 tokens", "the limit is 2000")


async def test_G3_comments_are_capped_too(client: GraphQLClient) -> None:
    result = await client.execute("# a comment\n" * 2001 + "{ __typename }")

    refused(result, "more than 2000 comments")


async def test_G3_an_over_long_mutation_registers_nobody(client: GraphQLClient) -> None:
    padding = "__typename " * 2000
    result = await client.execute(
        register_all(1, "long").replace("mutation { ", f"mutation {{ {padding}")
    )

    refused(result, "more than 2000 tokens")
    await assert_no_account(client)


async def test_G1_G2_G3_limits_are_the_settings(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", max_query_depth=2, max_aliases=1, max_query_tokens=10
    )
    async with running_app(settings) as app, client_at(app) as client:
        within = await client.execute("{ me { id } a: __typename }")
        deep = await client.execute("{ agents { pageInfo { hasNextPage } } }")
        aliases = await client.execute("{ a: __typename b: __typename }")
        tokens = await client.execute(
            "{ me { id email displayName role active createdAt } __typename }"
        )

    assert within.ok() == {"me": None, "a": "Query"}
    refused(deep, "3 fields deep", "depth limit is 2")
    refused(aliases, "2 aliases", "alias limit is 1")
    refused(tokens, "more than 10 tokens", "the limit is 10")


# --- G4: batching -------------------------------------------------------------------------


async def count_sessions(app: Any) -> int:
    async with services_of(app).sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(AuthSession)) or 0)


@pytest.mark.parametrize("size", [0, 1, 100])
async def test_G4_a_json_array_of_logins_is_refused_whole_and_runs_none(
    app: Any, client: GraphQLClient, size: int
) -> None:
    await client.register("owner@example.com")
    sessions = await count_sessions(app)
    login = {
        "query": LOGIN,
        "variables": {"input": {"email": "owner@example.com", "password": DEFAULT_PASSWORD}},
    }

    response = await client.http.post("/graphql", json=[login] * size)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert "one operation per request" in errors[0]["message"]
    assert await count_sessions(app) == sessions


async def test_G4_a_multipart_batch_is_refused_too(client: GraphQLClient) -> None:
    operations = [{"query": register_all(1, "multipart"), "variables": {}}] * 2

    response = await client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": "{}"},
        files={"unused": ("a.txt", b"a", "text/plain")},
        headers={"x-kai-csrf": "1"},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await assert_no_account(client)


# --- G5: `first` and the request timeout ---------------------------------------------------

FIRST_QUERIES = {
    "agentLogs": "agentLogs(agentId: $id, first: $first) { edges { cursor } }",
    "Agent.logs": "agent(id: $id) { logs(first: $first) { edges { cursor } } }",
    "Agent.tasks": "agent(id: $id) { tasks(first: $first) { edges { cursor } } }",
}


@pytest.mark.parametrize("query", FIRST_QUERIES.values(), ids=FIRST_QUERIES.keys())
async def test_G5_first_above_500_is_bad_user_input(client: GraphQLClient, query: str) -> None:
    query = f"query Q($id: ID!, $first: Int) {{ {query} }}"
    token = await signed_in(client)
    agent = await create_echo(client, token)

    huge = await client.execute(query, {"id": agent["id"], "first": 100_000}, token=token)
    most = await client.execute(query, {"id": agent["id"], "first": 500}, token=token)

    assert huge.codes == ["BAD_USER_INPUT"]
    assert huge.errors[0]["extensions"]["field"] == "first"
    assert "500" in huge.errors[0]["message"]
    most.ok()


async def test_G5_a_request_past_its_timeout_is_cancelled_and_answers_503(
    database_url: str, tmp_path: Path, silent_llm: tuple[SilentLLM, str]
) -> None:
    llm, base_url = silent_llm
    async with kai_server(database_url, tmp_path, request_timeout_seconds=G5_TIMEOUT) as server:
        client = server.client
        token = await signed_in(client)
        created = await client.execute(
            "mutation C($input: AgentConfigInput!) { createAgent(input: $input) { id state } }",
            {
                "input": {
                    "name": "llm",
                    "type": "llm",
                    "configuration": {"baseUrl": base_url, "model": "m"},
                }
            },
            token=token,
        )
        agent = created.ok()["createAgent"]
        variables = {
            "agentId": agent["id"],
            "command": {
                "command": "chat",
                "params": {"messages": [{"role": "user", "content": "hi"}]},
            },
            "key": "once",
        }

        started = time.monotonic()
        response = await client.http.post(
            "/graphql",
            json={"query": COMMAND, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        elapsed = time.monotonic() - started

        assert response.status_code == 503
        body = response.json()
        assert "data" not in body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
        assert f"{G5_TIMEOUT:g} s" in body["errors"][0]["message"]
        assert G5_TIMEOUT <= elapsed < G5_TIMEOUT + 2
        assert llm.asked.is_set()
        # The agent's request was abandoned, not left running.
        await asyncio.wait_for(llm.abandoned.wait(), 5)

        # The command has an outcome: failed, cancelled; a retry with its key gets it at once.
        async with server.services.sessionmaker() as session:
            records = (await session.scalars(select(CommandRecord))).all()
        assert len(records) == 1
        assert records[0].completed_at is not None and records[0].success is False
        assert "cancelled" in (records[0].error or "")
        retry = (await client.execute(COMMAND, variables, token=token)).ok()["sendCommand"]
        assert retry["success"] is False and "cancelled" in retry["error"]

        # The permission check of the cancelled work is in the audit log.
        audit = (
            await client.execute(AUDIT_BY_REQUEST, {"action": "agent.command"}, token=token)
        ).ok()
        request_ids = [edge["node"]["requestId"] for edge in audit["auditLog"]["edges"]]
        assert response.headers["x-request-id"] in request_ids


async def test_G5_reading_a_slow_body_does_not_count_toward_the_timeout(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", request_timeout_seconds=G5_TIMEOUT)
    body = json.dumps({"query": "{ __typename }"}).encode()

    async def slowly() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4):  # 7 chunks, 0.4 s apart: longer than the timeout
            await asyncio.sleep(0.4)
            yield body[start : start + 4]

    async with running_app(settings) as app, client_at(app) as client:
        response = await client.http.post(
            "/graphql", content=slowly(), headers={"content-type": "application/json"}
        )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_G5_subscriptions_are_not_bounded_by_the_request_timeout(
    database_url: str, tmp_path: Path
) -> None:
    async with kai_server(database_url, tmp_path, request_timeout_seconds=G5_TIMEOUT) as server:
        token = await signed_in(server.client)
        agent = await create_echo(server.client, token)
        async with ws_connect(server.url, "graphql-transport-ws", token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent["id"], "after": 0})
            assert [e["seq"] for e in await ws.results(op, 2, "agentEvents")] == [1, 2]

            await asyncio.sleep(G5_TIMEOUT + 0.5)
            await server.command(token, agent["id"], "still-there")

            assert (await ws.next(op))["agentEvents"]["seq"] == 3


# --- W4: the same limits on subscription documents -----------------------------------------


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    ("query", "says"), OVER_LIMIT_SUBSCRIPTIONS.values(), ids=OVER_LIMIT_SUBSCRIPTIONS.keys()
)
async def test_W4_limits_apply_to_subscriptions(
    database_url: str, tmp_path: Path, protocol: str, query: str, says: str
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token = await signed_in(server.client)
        agent = await create_echo(server.client, token)  # it has events 1 and 2
        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(query, {"agentId": agent["id"]})

            message = await ws.receive(op)

            # Refused before the resolver ran: no event, only the error.
            assert message.type == "error", message
            assert message.codes == [TOO_COMPLEX], message
            assert says in message.errors[0]["message"]
            await ws.alive()
            # The socket still runs subscriptions within the limits.
            ok = await ws.subscribe(EVENTS, {"agentId": agent["id"], "after": 1})
            assert [e["seq"] for e in await ws.results(ok, 1, "agentEvents")] == [2]


async def test_W4_limits_apply_to_queries_and_mutations_over_a_socket(
    database_url: str, tmp_path: Path
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token = await signed_in(server.client)
        async with ws_connect(server.url, "graphql-transport-ws", token=token) as ws:
            op = await ws.subscribe(CREATE_DEPTH_11, ECHO_INPUT)
            messages = await ws.until_complete(op)
        agents = nodes((await server.client.execute(AGENTS, token=token)).ok()["agents"])

    assert [m.codes for m in messages if m.errors] == [[TOO_COMPLEX]], messages
    assert agents == []
