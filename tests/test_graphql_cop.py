"""The checks graphql-cop runs, as tests: each fails if its protection is removed.

graphql-cop (dolevf/graphql-cop) probes a GraphQL endpoint for denial-of-service
shapes (aliases, batching, field duplication, directive overloading, circular
introspection and fragments), CSRF surfaces (GET, url-encoded, text/plain and
multipart POSTs), information leaks (field suggestions, GraphiQL, introspection)
and debug output (tracing, stack traces, unhandled errors). Here each check sends
what graphql-cop sends, and where a refused request could have done something,
one that would have (a mutation), then verifies that nothing was done.

The transport checks run against a real uvicorn server (tests.support.servers.serve_app),
in development or, where the check is about production, in production; the
document checks run against the in-process app, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from sqlalchemy.exc import ProgrammingError

from kai import migrate
from kai.app import create_app
from kai.db import create_engine
from tests.support.databases import postgres_database
from tests.support.graphql_client import DEFAULT_PASSWORD, REGISTER, GraphQLClient, Result, nodes
from tests.support.servers import serve_app
from tests.support.settings import make_settings, production

AGENTS = "{ agents { edges { node { id } } } }"
CREATE_AGENT_FIELD = 'createAgent(input: {name: "cop", type: "echo"})'
# A refusal before any resolver runs is quick; the limit is generous for slow CI machines.
FAST_SECONDS = 2.0
# What graphql-cop's IDE check looks for in a page, and where.
IDE_MARKERS = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
IDE_PATHS = ("/graphiql", "/playground", "/console", "/graphql")
# What must never reach a client in an error (G8).
LEAKS = (
    "Traceback",
    "stacktrace",
    "exception",
    'File "',
    ".py",
    "/work/",
    "site-packages",
    "SELECT",
    "INSERT",
    "sqlalchemy",
    "RuntimeError",
    "password_hash",
)


@dataclass
class Server:
    app: Any
    client: GraphQLClient

    @property
    def http(self) -> httpx.AsyncClient:
        return self.client.http


@pytest.fixture
async def dev_server(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Server]:
    """`kai serve` in development, as uvicorn runs it, on a SQLite database."""
    database = tmp_path / "kai.db"
    shutil.copy(sqlite_template, database)
    app = create_app(make_settings(f"sqlite+aiosqlite:///{database}", tmp_path / "data"))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Server(app, GraphQLClient(http))


@pytest.fixture
async def prod_server(tmp_path: Path) -> AsyncIterator[Server]:
    """The production profile under uvicorn: PostgreSQL (migrated) and Redis."""
    async with postgres_database() as database:
        engine = create_engine(database)
        await migrate.upgrade(engine)
        await engine.dispose()
        app = create_app(production(database, tmp_path))
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Server(app, GraphQLClient(http))


def register_document(email: str) -> str:
    """A registration with its input inline: what a forged request would carry."""
    return (
        f'mutation {{ register(input: {{email: "{email}", password: "{DEFAULT_PASSWORD}"}}) '
        "{ user { id role } } }"
    )


async def assert_nobody_registered(client: GraphQLClient, email: str) -> None:
    """No account exists: registering `email` now works, and makes the first user (ADMIN)."""
    result = await client.execute(
        REGISTER, {"input": {"email": email, "password": DEFAULT_PASSWORD}}
    )
    assert result.ok()["register"]["user"]["role"] == "ADMIN", "an earlier request registered"


async def admin_token(client: GraphQLClient) -> str:
    token: str = (await client.register("cop-admin@example.com"))["accessToken"]
    return token


async def assert_no_agents(client: GraphQLClient, token: str) -> None:
    agents = nodes((await client.execute(AGENTS, token=token)).ok()["agents"])
    assert agents == [], f"a refused document created agents: {agents}"


def assert_refused(result: Result, *codes: str) -> None:
    """Refused whole: no data, and every error carries one of `codes`."""
    assert result.data is None, result.body
    assert result.errors, result.body
    assert set(result.codes) <= set(codes), result.body


def error_codes(response: httpx.Response) -> list[Any]:
    body = response.json()
    assert isinstance(body, dict), body
    return [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]


# Denial of service -------------------------------------------------------------------


async def test_graphql_cop_alias_overloading(client: GraphQLClient) -> None:
    token = await admin_token(client)
    typenames = "query { " + " ".join(f"alias{i}: __typename" for i in range(101)) + " }"
    creations = (
        "mutation { " + " ".join(f"a{i}: {CREATE_AGENT_FIELD} {{ id }}" for i in range(100)) + " }"
    )

    started = time.monotonic()
    cop = await client.execute(typenames, token=token)
    created = await client.execute(creations, token=token)
    elapsed = time.monotonic() - started

    assert_refused(cop, "QUERY_TOO_COMPLEX")
    assert_refused(created, "QUERY_TOO_COMPLEX")
    assert elapsed < FAST_SECONDS
    await assert_no_agents(client, token)


async def test_graphql_cop_array_based_batching(client: GraphQLClient) -> None:
    cop = await client.http.post("/graphql", json=[{"query": "query { __typename }"}] * 10)
    batch = await client.http.post(
        "/graphql",
        json=[
            {"query": register_document("first@example.com")},
            {"query": register_document("second@example.com")},
        ],
    )

    for response in (cop, batch):
        assert response.status_code == 400
        assert isinstance(response.json(), dict), "a batch answered with an array of results"
        assert "data" not in response.json()
        assert error_codes(response) == ["BAD_USER_INPUT"]
    await assert_nobody_registered(client, "first@example.com")


async def test_graphql_cop_field_duplication(client: GraphQLClient) -> None:
    token = await admin_token(client)
    # The same field 500 times: valid GraphQL (the copies merge), and 8000 tokens.
    duplicated = "mutation { " + f"{CREATE_AGENT_FIELD} {{ id }} " * 500 + "}"

    started = time.monotonic()
    result = await client.execute(duplicated, token=token)
    elapsed = time.monotonic() - started

    assert_refused(result, "QUERY_TOO_COMPLEX")
    assert elapsed < FAST_SECONDS
    await assert_no_agents(client, token)


async def test_graphql_cop_directive_overloading(client: GraphQLClient) -> None:
    token = await admin_token(client)
    cop = "query { __typename " + "@aa" * 10 + " }"
    unknown = "mutation { " + CREATE_AGENT_FIELD + " @aa" * 100 + " { id } }"
    repeated = "mutation { " + CREATE_AGENT_FIELD + " @include(if: true)" * 100 + " { id } }"

    started = time.monotonic()
    results = [await client.execute(document, token=token) for document in (cop, unknown, repeated)]
    elapsed = time.monotonic() - started

    for result in results:
        assert_refused(result, "QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED")
        # graphql-core stops validating at 100 errors: the answer stays small.
        assert len(result.errors) <= 101
    assert elapsed < FAST_SECONDS
    await assert_no_agents(client, token)


async def test_graphql_cop_circular_introspection(client: GraphQLClient) -> None:
    cop = (
        "query { __schema { types { fields { type { fields { type { fields { type { fields "
        "{ type { name } } } } } } } } } } }"
    )
    deeper = (
        "query { __schema { types { " + "fields { type { " * 20 + "name" + " } }" * 20 + " } } }"
    )

    started = time.monotonic()
    results = [await client.execute(document) for document in (cop, deeper)]
    elapsed = time.monotonic() - started

    for result in results:
        assert_refused(result, "QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED")
    assert elapsed < FAST_SECONDS


async def test_graphql_cop_circular_fragment(client: GraphQLClient) -> None:
    cyclic = """
    query { __schema { ...A } }
    fragment A on __Schema { __typename ...B }
    fragment B on __Schema { ...A }
    """

    result = await client.execute(cyclic)

    assert_refused(result, "GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX")


# CSRF surfaces (G9) -------------------------------------------------------------------


async def test_graphql_cop_get_based_query_and_mutation_in_production(
    prod_server: Server,
) -> None:
    query = await prod_server.http.get("/graphql", params={"query": "{ __typename }"})
    mutation = await prod_server.http.get(
        "/graphql", params={"query": register_document("get@example.com")}
    )

    for response in (query, mutation):
        assert response.status_code in {400, 405}
        assert "data" not in response.json()
        assert error_codes(response) == ["BAD_USER_INPUT"]
    await assert_nobody_registered(prod_server.client, "get@example.com")


async def test_graphql_cop_get_based_mutation_in_development(dev_server: Server) -> None:
    # Development serves queries over GET (graphql-cop reports it; production does not)...
    query = await dev_server.http.get("/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}

    # ...but never a mutation.
    for document in ("mutation { __typename }", register_document("get@example.com")):
        mutation = await dev_server.http.get("/graphql", params={"query": document})

        assert mutation.status_code in {400, 405}
        assert "data" not in mutation.json()
        assert error_codes(mutation) == ["BAD_USER_INPUT"]
    await assert_nobody_registered(dev_server.client, "get@example.com")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/x-www-form-urlencoded",
            str(httpx.QueryParams({"query": register_document("csrf@example.com")})),
        ),
        ("text/plain", json.dumps({"query": register_document("csrf@example.com")})),
        ("text/plain;charset=UTF-8", json.dumps({"query": register_document("csrf@example.com")})),
        (None, ""),  # graphql-cop's own: the query in the URL of a POST with no body
    ],
    ids=["urlencoded", "text-plain", "text-plain-charset", "query-string"],
)
async def test_graphql_cop_post_based_csrf(
    dev_server: Server, content_type: str | None, body: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    params = {} if content_type else {"query": register_document("csrf@example.com")}

    response = await dev_server.http.post("/graphql", content=body, headers=headers, params=params)

    assert response.status_code == 415
    assert "data" not in response.json()
    assert error_codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]
    await assert_nobody_registered(dev_server.client, "csrf@example.com")


async def test_graphql_cop_multipart_without_bearer_token_or_preflight_header(
    dev_server: Server,
) -> None:
    form = {
        "operations": json.dumps({"query": register_document("multipart@example.com")}),
        "map": "{}",
    }

    forged = await dev_server.http.post("/graphql", files={"x": ("x", b"")}, data=form)
    preflighted = await dev_server.http.post(
        "/graphql", files={"x": ("x", b"")}, data=form, headers={"x-kai-csrf": "1"}
    )

    assert forged.status_code == 400
    assert "data" not in forged.json()
    assert error_codes(forged) == ["BAD_USER_INPUT"]
    assert "CSRF" in forged.json()["errors"][0]["message"]
    # The same request with a header a page cannot send cross-site runs, and makes the
    # first user: the forged one did nothing.
    assert preflighted.status_code == 200, preflighted.text
    assert preflighted.json()["data"]["register"]["user"]["role"] == "ADMIN"


# Information leaks (G6-G8) ------------------------------------------------------------

MISSPELLINGS = {
    "field": "{ mee { id } }",
    "argument": '{ agent(idd: "x") { id } }',
    "type": "{ agents { edges { node { ... on Agnet { id } } } } }",
    "variable type": "query($x: Strin) { agents { totalCount } }",
    "input field": 'mutation { createAgent(input: {nam: "x", type: "echo"}) { id } }',
    "enum value": "{ agents { edges { node { logs(level: WARN) { edges { cursor } } } } } }",
}


async def test_graphql_cop_field_suggestions_in_production(prod_server: Server) -> None:
    token = (await prod_server.client.register("cop@example.com"))["accessToken"]

    for what, document in MISSPELLINGS.items():
        result = await prod_server.client.execute(document, token=token)

        assert_refused(result, "GRAPHQL_VALIDATION_FAILED")
        assert "Did you mean" not in json.dumps(result.body), what


async def test_graphql_cop_field_suggestions_in_development(dev_server: Server) -> None:
    result = await dev_server.client.execute(MISSPELLINGS["field"])

    assert_refused(result, "GRAPHQL_VALIDATION_FAILED")
    assert "Did you mean 'me'?" in result.errors[0]["message"]


async def test_graphql_cop_graphiql_and_introspection_in_production(prod_server: Server) -> None:
    ide = await prod_server.http.get("/graphql", headers={"accept": "text/html"})
    introspection = await prod_server.client.execute(graphql.get_introspection_query())
    one_type = await prod_server.client.execute('{ __type(name: "Query") { fields { name } } }')

    assert ide.status_code == 404
    for path in IDE_PATHS:
        page = await prod_server.http.get(path, headers={"accept": "text/html"})
        assert not any(marker in page.text for marker in IDE_MARKERS), path
    for result in (introspection, one_type):
        assert_refused(result, "GRAPHQL_VALIDATION_FAILED")


async def test_graphql_cop_graphiql_and_introspection_in_development(dev_server: Server) -> None:
    ide = await dev_server.http.get("/graphql", headers={"accept": "text/html"})
    # Tools (GraphiQL, codegen, schemathesis) send this query, default values included.
    introspection = await dev_server.client.execute(graphql.get_introspection_query())

    assert ide.status_code == 200
    assert "GraphiQL" in ide.text
    data = introspection.ok()
    graphql.build_client_schema(data)  # what GraphiQL and codegen do with the answer
    types = {named["name"]: named for named in data["__schema"]["types"]}
    defaults = {
        field["name"]: field["defaultValue"] for field in types["AgentCommandInput"]["inputFields"]
    }
    assert graphql.value_from_ast_untyped(graphql.parse_value(defaults["params"])) == {}


async def test_graphql_cop_trace_mode(dev_server: Server) -> None:
    result = await dev_server.client.execute("query { __typename }")

    assert result.body == {"data": {"__typename": "Query"}}, "extensions (tracing) unasked"


async def test_graphql_cop_unhandled_errors(dev_server: Server) -> None:
    documents = {
        "GRAPHQL_PARSE_FAILED": "qwerty cop { abc }",
        "GRAPHQL_VALIDATION_FAILED": "{ me { password } }",
        "BAD_USER_INPUT": "query($n: Int) { auditLog(first: $n) { edges { cursor } } }",
    }

    for code, document in documents.items():
        result = await dev_server.client.execute(document, {"n": "not a number"})

        assert result.codes == [code], result.body
        for error in result.errors:
            assert set(error.get("extensions", {})) <= {"code", "field"}, error
        text = json.dumps(result.body)
        assert not [leak for leak in LEAKS if leak in text], text


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("boom at /work/main/kai/services/users.py line 7: SELECT password_hash"),
        ProgrammingError(
            "SELECT user_account.password_hash FROM user_account", {}, Exception("syntax")
        ),
    ],
    ids=["runtime-error", "sql-error"],
)
async def test_graphql_cop_unexpected_errors_are_masked_with_a_request_id(
    dev_server: Server,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
) -> None:
    token = await admin_token(dev_server.client)

    async def explode(*_: Any, **__: Any) -> None:
        raise failure

    monkeypatch.setattr(dev_server.app.state.services.users, "page", explode)
    with caplog.at_level(logging.ERROR, logger="kai.errors"):
        result = await dev_server.client.execute(
            "{ users { edges { node { id email } } } }", token=token
        )

    assert result.status == 200
    assert result.data is None
    [error] = result.errors
    request_id = result.headers["x-request-id"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    text = json.dumps(result.body)
    assert not [leak for leak in LEAKS if leak in text], text
    # The details are in the log, under the same request id, for whoever runs the server.
    assert request_id in caplog.text
    assert "password_hash" in caplog.text
