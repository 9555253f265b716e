"""The HTTP surface: health and readiness, error shapes and codes, body cap, request ids."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest

from kai.db import create_engine
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.servers import free_port

REGISTER = """
mutation Register($input: RegisterInput!) { register(input: $input) { user { id } } }
"""
USERS_COUNT = "query { users { edges { node { id } } } }"


async def test_healthz_and_readyz_answer_ok(client: GraphQLClient) -> None:
    health = await client.http.get("/healthz")
    ready = await client.http.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 200
    # The embedded default: the database and the local files directory, nothing else.
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "files": "ok"}}


async def test_readyz_is_503_with_a_reason_when_the_database_is_unreachable(
    client: GraphQLClient, app: Any
) -> None:
    services = app.state.services
    unreachable = create_engine(f"postgresql+asyncpg://kai@127.0.0.1:{free_port()}/kai")
    app.state.services = dataclasses.replace(services, engine=unreachable)
    try:
        response = await client.http.get("/readyz")
    finally:
        app.state.services = services
        await unreachable.dispose()

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"].startswith("unreachable")
    assert response.json()["checks"]["files"] == "ok"


async def test_malformed_json_is_400_in_graphql_shape(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_unsupported_content_type_is_415(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql",
        content=b"query=%7Bme%7Bid%7D%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_syntax_error_is_graphql_parse_failed(client: GraphQLClient) -> None:
    result = await client.execute("query { me { id ")

    assert result.codes == ["GRAPHQL_PARSE_FAILED"]


async def test_unknown_field_is_graphql_validation_failed(client: GraphQLClient) -> None:
    result = await client.execute("query { me { id password } }")

    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_variable_of_the_wrong_type_is_bad_user_input(client: GraphQLClient) -> None:
    result = await client.execute(REGISTER, {"input": {"email": 5, "password": "x" * 12}})

    assert result.codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_json_body_over_the_cap_is_413(client: GraphQLClient, chunked: bool) -> None:
    body = b'{"query": "' + b" " * (1024 * 1024 + 10) + b'{ me { id } }"}'

    async def stream() -> AsyncGenerator[bytes, None]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    # httpx stops reading a body the server refused half way, and leaves it open.
    async with aclosing(stream()) as chunks:
        response = await client.http.post(
            "/graphql",
            content=chunks if chunked else body,
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_every_response_carries_a_request_id(client: GraphQLClient) -> None:
    first = await client.execute("query { me { id } }")
    second = await client.execute("query { me { id } }")

    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    app: Any,
    client: GraphQLClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await client.register("admin@example.com")

    async def explode(**_: object) -> None:
        raise RuntimeError("SELECT password_hash FROM user_account -- leaked detail")

    monkeypatch.setattr(app.state.services.users, "page", explode)
    with caplog.at_level(logging.ERROR, logger="kai.errors"):
        result = await client.execute(USERS_COUNT, token=admin["accessToken"])

    error = result.errors[0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "SELECT" not in str(result.body)
    assert error["extensions"]["requestId"] == result.headers["x-request-id"]
    assert result.headers["x-request-id"] in caplog.text
    assert "leaked detail" in caplog.text


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"email": "not-an-email", "password": "correct horse battery"}, "input.email"),
        ({"email": "a" * 250 + "@example.com", "password": "correct horse battery"}, "input.email"),
        ({"email": "ok@example.com", "password": "short"}, "input.password"),
        (
            {
                "email": "ok@example.com",
                "password": "correct horse battery",
                "displayName": "x" * 101,
            },
            "input.displayName",
        ),
    ],
    ids=["bad-email", "long-email", "weak-password", "long-display-name"],
)
async def test_bad_registration_input_names_the_field_and_writes_nothing(
    client: GraphQLClient, variables: dict[str, str], field: str
) -> None:
    admin = await client.register("admin@example.com")

    result = await client.execute(REGISTER, {"input": variables})

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    users = nodes((await client.execute(USERS_COUNT, token=admin["accessToken"])).ok()["users"])
    assert len(users) == 1


async def test_H1_no_redirect_is_built_from_the_host_header(client: GraphQLClient) -> None:
    # Starlette redirected /graphql/ to http://{Host}/graphql: the client chose where to.
    for path in ("/graphql/", "/healthz/", "/files/x/"):
        response = await client.http.get(path, headers={"host": "evil.example"})

        assert response.status_code == 404, path
        assert "location" not in response.headers
