"""Schemathesis fuzzing of every query and mutation, signed in, in-process.

Schemathesis reads the schema from the app's own introspection (development
profile) and generates documents for each root field of Query and Mutation:
mostly valid ones, a fifth in its negative mode (arguments that break their
types). Each is sent as the first user (ADMIN) with a bearer token; id
arguments often get ids that exist (users, agents, a task, a file, an API key),
and strings, integers and floats sometimes get values that broke servers
before. Every answer must be GraphQL-shaped JSON, never a 5xx, and every error
must carry an `extensions.code` other than INTERNAL_SERVER_ERROR. All failures
are collected and reported together, each with its document (schemathesis
writes the arguments inline, so it is the whole request) and the response.

The run is seeded (the same documents every time) and sends 500 operations;
set KAI_FUZZ_EXAMPLES to send more. Subscriptions are not fuzzed: they do not
run over HTTP (test_fuzz_a_subscription_over_http_is_refused_with_a_code).

The tests after the fuzzer are the bugs fuzzing found, kept as regressions.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.python import asgi

from kai.app import create_app
from tests.support.graphql_client import (
    CREATE_API_KEY,
    DEFAULT_PASSWORD,
    LOGIN,
    REGISTER,
    GraphQLClient,
)
from tests.support.servers import serve_app
from tests.support.settings import make_settings
from tests.support.uploads import UPLOAD
from tests.support.ws_client import TRANSPORT_WS, ws_connect

MINIMUM_EXAMPLES = 500
EXAMPLES = max(MINIMUM_EXAMPLES, int(os.environ.get("KAI_FUZZ_EXAMPLES", "0") or 0))
# One generated operation in this many is negative: it must be refused with a code too.
NEGATIVE_EVERY = 5
ADMIN_EMAIL = "fuzz-admin@example.com"
OTHER_EMAIL = "fuzz-other@example.com"
CREATE_AGENT = "mutation($input: AgentConfigInput!) { createAgent(input: $input) { id } }"
ENQUEUE = 'mutation($agentId: ID!) { enqueueTask(agentId: $agentId, input: {type: "echo"}) { id } }'
SESSION = "{ session { id } }"
# The fuzzer works far faster than any client: no rate limit may stop it (0: unlimited).
UNLIMITED = {
    name: 0
    for name in (
        "rate_limit_query_per_minute",
        "rate_limit_mutation_per_minute",
        "rate_limit_subscribe_per_minute",
        "rate_limit_upload_per_minute",
        "rate_limit_agent_per_minute",
        "rate_limit_anonymous_per_minute",
    )
}

# Keys that agent configurations, command params and task payloads know, so that
# generated JSON reaches their validation and not only "unknown key".
JSON_KEYS = [
    "delaySeconds",
    "baseUrl",
    "model",
    "apiKey",
    "systemPrompt",
    "temperature",
    "maxTokens",
    "messages",
    "role",
    "content",
    "taskTypes",
    "prompt",
    "n",
]
# Values that broke servers before, mixed into String, ID, Int and Float arguments.
NASTY_STRINGS = [
    "",
    " ",
    "x\u0000y",
    "\u202egnp.exe",
    "\ufeff",
    "\r\nX-Injected: 1",
    "' OR '1'='1",
    '"; DROP TABLE agent; --',
    "../../../../etc/passwd",
    "%s%s%s%n",
    "{{7*7}}${7*7}",
    "<script>alert(1)</script>",
    "😀" * 64,
    "x" * 5000,
    "*",
    "agent.*",
    "null",
    "-1",
    "1e309",
]
NASTY_INTEGERS = [0, -1, 1, 500, 501, 2**31 - 1, -(2**31)]
NASTY_FLOATS = [0.0, -0.0, 5e-324, 0.5, 1.0, 1.0000001, 1e308, -1e308]


def _json_node(value: Any) -> graphql.ValueNode:
    """A GraphQL literal of a JSON value, as a client writes a JSON argument inline."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_json_node(item) for item in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_json_node(item))
            for key, item in value.items()
        ]
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**31), max_value=2**31 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(JSON_KEYS) | st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,10}\Z"),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
# A file is uploaded with a multipart request; a literal in its place (what a
# confused or hostile client sends over JSON) must be refused with a code.
UPLOAD_LITERALS = st.sampled_from(
    [graphql.NullValueNode(), nodes.String("notes.txt"), nodes.Int(0), nodes.List([])]
)


@dataclass
class Session:
    """The fuzzer's credentials: it signs in again whenever a mutation ends its session."""

    http: requests.Session
    token: str = ""
    logins: int = 0

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def login(self) -> None:
        self.token = ""
        data = self.post(LOGIN, {"input": {"email": ADMIN_EMAIL, "password": DEFAULT_PASSWORD}})
        self.token = data["login"]["accessToken"]
        self.logins += 1

    def alive(self) -> bool:
        response = self.http.post(
            "/graphql", json={"query": SESSION}, headers={"authorization": f"Bearer {self.token}"}
        )
        return response.status_code == 200 and not response.json().get("errors")


@dataclass
class Known:
    """Ids that exist, for the fuzzer's id arguments."""

    ids: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    doomed_agents: list[str] = field(default_factory=list)
    remote_agents: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


def _seed(session: Session) -> Known:
    """The first user (ADMIN), another user, agents, a task, a file and an API key."""
    known = Known()
    admin = session.post(REGISTER, {"input": {"email": ADMIN_EMAIL, "password": DEFAULT_PASSWORD}})
    session.token = admin["register"]["accessToken"]
    other = session.post(REGISTER, {"input": {"email": OTHER_EMAIL, "password": DEFAULT_PASSWORD}})
    known.users.append(other["register"]["user"]["id"])

    def agent(name: str, type_: str) -> str:
        created = session.post(CREATE_AGENT, {"input": {"name": name, "type": type_}})
        return str(created["createAgent"]["id"])

    known.agents = [agent("fuzz-a", "echo"), agent("fuzz-b", "echo")]
    known.doomed_agents = [agent("doomed-a", "echo"), agent("doomed-b", "echo")]
    known.remote_agents = [agent("fuzz-remote", "remote")]
    task = session.post(ENQUEUE, {"agentId": known.agents[0]})["enqueueTask"]["id"]
    key = session.post(CREATE_API_KEY, {"input": {"name": "fuzz key"}})["createApiKey"]
    known.ids = [
        admin["register"]["user"]["id"],
        *known.users,
        *known.agents,
        *known.remote_agents,
        task,
        key["apiKey"]["id"],
        _upload(session, known.agents[0]),
    ]
    return known


def _upload(session: Session, agent_id: str) -> str:
    operations = {"query": UPLOAD, "variables": {"file": None, "agentId": agent_id}}
    response = session.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("notes.txt", b"fuzzing notes\n", "text/plain")},
        headers={"authorization": f"Bearer {session.token}"},
    )
    body = response.json()
    assert not body.get("errors"), body
    return str(body["data"]["uploadFile"]["id"])


def _config(known: Known) -> schemathesis.Config:
    """Which values go where, besides what schemathesis generates.

    Id arguments get an id that exists half of the time. deleteAgent only ever
    deletes the doomed agents, and setUserRole/setUserActive only ever change the
    other user, so the fuzzer keeps agents to work on and its own account.
    """
    bindings: dict[str, Any] = {
        f"*.*.{name}": {"dictionary": "ids", "probability": 0.5}
        for name in ("id", "agentId", "userId", "taskId", "messageId")
    }
    bindings["Mutation.deleteAgent.id"] = {"dictionary": "doomed", "probability": 0.5}
    for name in ("agentId", "id"):
        for agent_field in ("sendCommand", "updateAgent", "restartAgent", "stopAgent"):
            bindings[f"Mutation.{agent_field}.{name}"] = {
                "dictionary": "agents",
                "probability": 0.5,
            }
    for remote_field in ("agentHeartbeat", "agentLog"):
        bindings[f"Mutation.{remote_field}.agentId"] = {"dictionary": "remote", "probability": 0.6}
    for user_field in ("setUserRole", "setUserActive"):
        bindings[f"Mutation.{user_field}.userId"] = {"dictionary": "users", "probability": 0.5}
    # Names that exist, so that the work behind the validation is reached too.
    bindings["Mutation.createAgent.input.type"] = {"dictionary": "agent-types", "probability": 0.7}
    bindings["Mutation.enqueueTask.agentId"] = {"dictionary": "agents", "probability": 0.7}
    bindings["Mutation.enqueueTask.input.type"] = {"dictionary": "task-types", "probability": 0.7}
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {
                "ids": {"values": known.ids},
                "agents": {"values": known.agents},
                "doomed": {"values": known.doomed_agents},
                "remote": {"values": known.remote_agents},
                "users": {"values": known.users},
                "agent-types": {"values": ["echo", "llm", "remote"]},
                "task-types": {"values": ["echo"]},
                "nasty-strings": {"values": NASTY_STRINGS},
                "nasty-integers": {"values": NASTY_INTEGERS},
                "nasty-floats": {"values": NASTY_FLOATS},
            },
            "parameters": bindings,
            "generation": {
                "dictionaries": {
                    "string": {"dictionary": "nasty-strings", "probability": 0.15},
                    "integer": {"dictionary": "nasty-integers", "probability": 0.15},
                    "number": {"dictionary": "nasty-floats", "probability": 0.15},
                }
            },
        }
    )


@dataclass
class Outcome:
    executed: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def problems_of(status: int, text: str) -> list[str]:
    """What is wrong with one answer: nothing when it is a GraphQL answer with coded errors."""
    if status >= 500:
        return [f"HTTP {status}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"HTTP {status}: not JSON"]
    if not isinstance(body, dict) or not {"data", "errors"} & body.keys():
        return [f"HTTP {status}: not a GraphQL response"]
    errors = body.get("errors") or []
    if not isinstance(errors, list):
        return ["`errors` is not a list"]
    problems = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if code is None:
            problems.append(f"an error without extensions.code: {error}")
        elif code == "INTERNAL_SERVER_ERROR":
            problems.append(f"INTERNAL_SERVER_ERROR: {error}")
    return problems


def _codes(text: str) -> set[str | None]:
    errors = json.loads(text).get("errors") or []
    return {(error.get("extensions") or {}).get("code") for error in errors}


@pytest.mark.slow
def test_fuzz_every_operation_answers_with_coded_errors_only(
    database_url: str, tmp_path: Path
) -> None:
    app: Any = create_app(
        make_settings(
            database_url,
            tmp_path / "data",
            # An echo agent the fuzzer configured with a long delay must not stall the run.
            command_timeout_seconds=0.5,
            **UNLIMITED,
        )
    )
    schemathesis.graphql.scalar("JSON", JSON_VALUES.map(_json_node))
    schemathesis.graphql.scalar("Upload", UPLOAD_LITERALS)
    started = time.monotonic()
    try:
        with asgi.get_client(app) as http:  # starts the app (its lifespan), in its own loop
            session = Session(http)
            known = _seed(session)
            introspection = http.post("/graphql", json={"query": graphql.get_introspection_query()})
            # The schema comes from the app's introspection (on in development).
            schema = schemathesis.graphql.from_asgi("/graphql", app, config=_config(known))
            outcome = _fuzz(schema, session)
    finally:
        asgi.shutdown_lifespans()
    elapsed = time.monotonic() - started

    for problem in problems_of(introspection.status_code, introspection.text):
        outcome.failures.insert(0, f"the introspection query: {problem}")
    report = "\n\n".join(outcome.failures[:50])
    assert not outcome.failures, (
        f"{len(outcome.failures)} of {outcome.executed} fuzzed operations failed "
        f"(the first 50 shown):\n\n{report}"
    )
    assert outcome.executed >= EXAMPLES, outcome.by_operation
    print(f"fuzzed {outcome.executed} operations in {elapsed:.1f} s, {session.logins} re-logins")


def _fuzz(schema: Any, session: Session) -> Outcome:
    """Each operation in turn gets its share of the examples, a fifth of them negative.

    Hypothesis runs once per operation and mode, each time with its own fixed seed.
    An operation with few possible documents (`logout`) runs out of them early;
    further rounds make up the count.
    """
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert labels and all(label.startswith(("Query.", "Mutation.")) for label in labels), labels
    outcome = Outcome()

    def execute(case: Any) -> None:
        _execute(case, session, outcome)

    for round_ in range(10):
        missing = EXAMPLES - outcome.executed
        if missing <= 0:
            break
        share = -(-missing // len(operations))
        negatives = share // NEGATIVE_EVERY
        for index, operation in enumerate(operations):
            for mode, budget in (
                (schemathesis.GenerationMode.POSITIVE, share - negatives),
                (schemathesis.GenerationMode.NEGATIVE, negatives),
            ):
                if budget:
                    strategy = operation.as_strategy(generation_mode=mode)
                    _examples(strategy, budget, f"{round_}:{index}:{mode.value}", execute)
    assert set(outcome.by_operation) == labels, labels - set(outcome.by_operation)
    return outcome


def _examples(strategy: Any, budget: int, key: str, execute: Callable[[Any], None]) -> None:
    """Runs up to `budget` cases of `strategy`: the same ones every time (seeded by `key`)."""

    @seed(zlib.crc32(key.encode()))
    @settings(
        max_examples=budget,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        execute(case)

    run()


def _execute(case: Any, session: Session, outcome: Outcome) -> None:
    label = case.operation.label
    outcome.executed += 1
    outcome.by_operation[label] = outcome.by_operation.get(label, 0) + 1
    for attempt in range(2):
        try:
            response = case.call(headers={"authorization": f"Bearer {session.token}"})
        except Exception as exc:  # the app raised instead of answering
            outcome.failures.append(f"{label}: the app raised {exc!r}\n  document: {case.body}")
            return
        problems = problems_of(response.status_code, response.text)
        if problems:
            outcome.failures.append(
                f"{label}: {'; '.join(problems)}\n  document: {case.body}\n"
                f"  response {response.status_code}: {response.text[:2000]}"
            )
            return
        # logout (or a refresh token spent twice) ended the fuzzer's session: it signs
        # in again and sends the same operation once more.
        if attempt or "UNAUTHENTICATED" not in _codes(response.text) or session.alive():
            return
        session.login()


# What fuzzing found ------------------------------------------------------------------

UNREADABLE_BODIES = {
    "nested-arrays": b'{"query": "{ me { id } }", "variables": {"a": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}}",
    "nested-objects": b'{"query": "{ me { id } }", "variables": '
    + b'{"a": ' * 100_000
    + b"1"
    + b"}" * 100_001,
    "not-utf-8": b'{"query": "{ me { id } }", "variables": {"a": "\xff"}}',
    "5000-digit-number": b'{"query": "{ me { id } }", "variables": {"a": 1' + b"0" * 5000 + b"}}",
    "unpaired-surrogate-in-variables": b'{"query": "query($a: ID!) { agent(id: $a) { id } }", '
    b'"variables": {"a": "x\\ud800"}}',
    "unpaired-surrogate-in-operation-name": b'{"query": "{ me { id } }", '
    b'"operationName": "\\udfff"}',
    "a-string": b'"{ me { id } }"',
    "a-number": b"5",
    "null": b"null",
}


@pytest.mark.parametrize("body", UNREADABLE_BODIES.values(), ids=UNREADABLE_BODIES.keys())
async def test_fuzz_an_unreadable_json_body_is_400_with_a_code(
    client: GraphQLClient, body: bytes
) -> None:
    response = await client.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert problems_of(response.status_code, response.text) == []
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


UPLOAD_ONE = "mutation($file: Upload!) { uploadFile(file: $file) { id } }"
UNFIT_MAPS = {
    "map-is-a-list": ({"file": None}, [["variables.file"]]),
    "path-not-text": ({"file": None}, {"0": [5]}),
    "path-through-null": ({"file": None}, {"0": ["variables.file.0.name"]}),
    "index-not-a-number": ({"file": [None]}, {"0": ["variables.file.first"]}),
    "index-out-of-range": ({"file": [None]}, {"0": ["variables.file.7"]}),
}


@pytest.mark.parametrize(("variables", "files_map"), UNFIT_MAPS.values(), ids=UNFIT_MAPS.keys())
async def test_fuzz_a_multipart_map_that_does_not_fit_is_400_and_stores_nothing(
    client: GraphQLClient, variables: dict[str, Any], files_map: Any
) -> None:
    token = (await client.register("map@example.com"))["accessToken"]

    response = await client.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD_ONE, "variables": variables}),
            "map": json.dumps(files_map),
        },
        files={"0": ("notes.txt", b"notes", "text/plain")},
        headers={"authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert problems_of(response.status_code, response.text) == []
    assert (await client.execute("{ files { totalCount } }", token=token)).ok() == {
        "files": {"totalCount": 0}
    }


NUL_OPERATIONS = {
    "id-literal": ('{ agent(id: "agt_\\u0000") { id } }', {}),
    "id-variable": ("query($id: ID!) { agent(id: $id) { id } }", {"id": "agt_\x00"}),
    "email": (
        "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
        {"input": {"email": "a\x00@example.com", "password": DEFAULT_PASSWORD}},
    ),
    "filter": ('{ auditLog(action: "agent\\u0000") { edges { cursor } } }', {}),
    "id-list": (
        "mutation($input: ApiKeyInput!) { createApiKey(input: $input) { secret } }",
        {"input": {"name": "k", "agentIds": ["agt_\x00"]}},
    ),
    "json-key": (
        "mutation($c: JSON) { "
        'createAgent(input: {name: "n", type: "remote", configuration: $c}) { id } }',
        {"c": {"a\x00": 1}},
    ),
}


@pytest.mark.parametrize(
    ("document", "variables"), NUL_OPERATIONS.values(), ids=NUL_OPERATIONS.keys()
)
async def test_fuzz_text_with_nul_is_bad_user_input_and_changes_nothing(
    client: GraphQLClient, document: str, variables: dict[str, Any]
) -> None:
    # PostgreSQL text cannot hold U+0000: on it, these answered INTERNAL_SERVER_ERROR.
    token = (await client.register("nul@example.com"))["accessToken"]

    result = await client.execute(document, variables, token=token)

    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert result.errors[0]["extensions"]["field"]
    state = await client.execute("{ agents { totalCount } apiKeys { totalCount } }", token=token)
    assert state.ok() == {"agents": {"totalCount": 0}, "apiKeys": {"totalCount": 0}}


async def test_fuzz_a_subscription_over_http_is_refused_with_a_code(
    client: GraphQLClient,
) -> None:
    token = (await client.register("sub@example.com"))["accessToken"]

    result = await client.execute(
        'subscription { taskUpdates(taskId: "tsk_x") { id } }', token=token
    )

    assert result.status == 400
    assert result.codes == ["BAD_USER_INPUT"], result.body


async def test_fuzz_nul_and_unpaired_surrogates_over_a_socket(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(database_url, tmp_path / "data"))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as http:
        token = (await GraphQLClient(http).register("ws@example.com"))["accessToken"]
        query = "subscription($id: ID!) { agentEvents(agentId: $id, after: 0) { seq } }"
        async with ws_connect(url, TRANSPORT_WS, token=token) as ws:
            refused = await ws.subscribe(query, {"id": "agt_\x00"})
            error = await ws.receive(refused)

            # Not text at all: the message cannot be read, and the socket closes (4400).
            await ws.send_raw('{"id": "2", "type": "subscribe", "payload": {"query": "\\ud800"}}')
            closed = await ws.closed()

    assert error.codes == ["BAD_USER_INPUT"], error
    assert closed[0] == 4400
