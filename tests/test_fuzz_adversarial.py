"""Adversarial fuzzing: documents and JSON values built to cost the server, generated.

Beside the schema-driven fuzzer (tests/test_fuzz.py), these generate what a hostile
client sends to exhaust a GraphQL server: chains and diamonds of fragments, fields
repeated to be compared pair by pair, floods of aliases and directives, lists nested
deep in arguments; and JSON values nested deep, wide, with huge numbers and odd text,
for every JSON input. Each is sent to the app, anonymous and signed in; every answer
must be a refusal or a result with coded errors, never INTERNAL_SERVER_ERROR, and no
refused JSON value may leave anything stored (the agents list must stay servable).
Seeded: the same inputs every run.
"""

from __future__ import annotations

import json
import random
from typing import Any

from sqlalchemy import func, select

from kai.models.agent import Agent
from kai.models.task import Task
from tests.support.agents import create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient

SEED = 20261205
DOCUMENTS = 150
JSON_VALUES = 120
CODES = {
    "QUERY_TOO_COMPLEX",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "RATE_LIMITED",
}
ENQUEUE_JSON = """
mutation($a: ID!, $v: JSON) {
  enqueueTask(agentId: $a, input: {type: "echo", payload: $v, delaySeconds: 600}) { id }
}"""
CREATE_JSON = """
mutation($v: JSON) { createAgent(input: {name: "fz", type: "remote", configuration: $v}) { id } }
"""
FIELDS = ["id", "name", "state", "type", "status { state }", "tasks { edges { node { id } } }"]


def fragment_chain(rng: random.Random) -> str:
    """Each fragment spreads the next `k` times: k^n selections if walked naively."""
    links, spreads = rng.randint(5, 40), rng.randint(2, 4)
    parts = [
        f"fragment F{i} on Agent {{ id {' '.join([f'...F{i + 1}'] * spreads)} }}"
        for i in range(links)
    ]
    parts.append(f"fragment F{links} on Agent {{ name }}")
    return "{ agents { edges { node { ...F0 } } } } " + " ".join(parts)


def fragment_diamond(rng: random.Random) -> str:
    """Layers of fragments, each spreading every fragment of the layer below."""
    layers, width = rng.randint(3, 8), rng.randint(2, 5)
    parts = []
    for layer in range(layers):
        below = (
            " ".join(f"...L{layer + 1}_{j}" for j in range(width)) if layer + 1 < layers else "id"
        )
        parts += [f"fragment L{layer}_{i} on Agent {{ {below} state }}" for i in range(width)]
    spreads = " ".join(f"...L0_{i}" for i in range(width))
    return "{ agents { edges { node { " + spreads + " } } } } " + " ".join(parts)


def overlapping_fields(rng: random.Random) -> str:
    field = rng.choice(FIELDS)
    return "{ agents { edges { node { " + " ".join([field] * rng.randint(20, 400)) + " } } } }"


def alias_flood(rng: random.Random) -> str:
    count = rng.randint(10, 300)
    return "{ " + " ".join(f"a{i}: agents {{ totalCount }}" for i in range(count)) + " }"


def directive_flood(rng: random.Random) -> str:
    directives = " ".join(["@include(if: true)", "@skip(if: false)"] * rng.randint(5, 300))
    return "{ agents " + directives + " { totalCount } }"


def deep_list_argument(rng: random.Random) -> str:
    depth = rng.randint(10, 600)
    value = "[" * depth + "1" + "]" * depth
    task = f'input: {{type: "echo", payload: {value}}}'
    return f'mutation {{ enqueueTask(agentId: "agt_x", {task}) {{ id }} }}'


def deep_selection(rng: random.Random) -> str:
    depth = rng.randint(5, 80)
    return (
        "{ agents { edges { node { "
        + "tasks { edges { node { agent { " * depth
        + "id"
        + " } } } }" * depth
        + " } } } }"
    )


GENERATORS = [
    fragment_chain,
    fragment_diamond,
    overlapping_fields,
    alias_flood,
    directive_flood,
    deep_list_argument,
    deep_selection,
]


def json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(
        ["deep", "wide", "number", "text", "object", "leaf"] if depth < 3 else ["leaf"]
    )
    if kind == "deep":
        value: Any = rng.choice([1, "x", None])
        for _ in range(rng.randint(20, 700)):
            value = [value] if rng.random() < 0.5 else {"k": value}
        return value
    if kind == "wide":
        return [rng.randint(0, 9) for _ in range(rng.randint(100, 20_000))]
    if kind == "number":
        return rng.choice([10 ** rng.randint(10, 4000), -(2**63), 1e308, -1e-308, 2**53 + 1])
    if kind == "text":
        return rng.choice(
            ["\u202e", "\ufeff", "😀" * 500, "a" * rng.randint(1, 200_000), "\\u0000"]
        )
    if kind == "object":
        return {f"k{i}": json_value(rng, depth + 1) for i in range(rng.randint(1, 5))}
    return rng.choice([True, False, None, 0, "", 1.5])


def coded(body: dict[str, Any]) -> list[str]:
    """The codes of the answer's errors that are not in CODES (none: acceptable)."""
    return [
        str((error.get("extensions") or {}).get("code"))
        for error in body.get("errors") or []
        if (error.get("extensions") or {}).get("code") not in CODES
    ]


async def test_fuzz_adversarial_documents_are_refused_with_codes(client: GraphQLClient) -> None:
    rng = random.Random(SEED)
    token = await signed_in(client)
    await create_echo(client, token)
    problems = []
    for index in range(DOCUMENTS):
        document = GENERATORS[index % len(GENERATORS)](rng)
        for who in (None, token):
            response = await client.http.post(
                "/graphql",
                json={"query": document},
                headers={"authorization": f"Bearer {who}"} if who else {},
            )
            body = response.json()
            if (
                response.status_code >= 500
                or coded(body)
                or ("data" not in body and not body.get("errors"))
            ):
                problems.append((document[:200], response.status_code, str(body)[:300]))
    assert problems == []


async def test_fuzz_adversarial_json_values_are_stored_whole_or_not_at_all(
    client: GraphQLClient, app: Any
) -> None:
    rng = random.Random(SEED)
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    problems = []
    for _ in range(JSON_VALUES):
        value = json_value(rng)
        for operation, variables, table in (
            (ENQUEUE_JSON, {"a": agent["id"], "v": value}, Task),
            (CREATE_JSON, {"v": value}, Agent),
        ):
            async with services.sessionmaker() as session:
                before = await session.scalar(select(func.count()).select_from(table))
            response = await client.http.post(
                "/graphql",
                content=json.dumps({"query": operation, "variables": variables}),
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
            body = response.json()
            async with services.sessionmaker() as session:
                after = await session.scalar(select(func.count()).select_from(table))
            refused = bool(body.get("errors"))
            if response.status_code >= 500 or coded(body) or (refused and after != before):
                problems.append((str(value)[:120], table.__name__, str(body)[:300]))
        listed = await client.execute(
            "{ agents(first: 500) { edges { node { id configuration } } } }", token=token
        )
        if listed.errors:  # a stored value the API cannot serve back
            problems.append((str(value)[:120], "agents", str(listed.body)[:300]))
    assert problems == []
