"""The schema on its own, through `schema.execute` with no HTTP in between: the ErrorCode
enum, a subscription refused with a code, object default values in introspection, and
UNAUTHENTICATED for a signed-out Context."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import graphql
import pytest
from starlette.requests import HTTPConnection
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from kai.context import Context
from kai.errors import ErrorCode
from kai.graphql.http_errors import http_error
from kai.graphql.schema import KaiSchema, build_schema
from kai.loaders import Loaders
from kai.services.shared import Services
from tests.support.apps import running_app, services_of
from tests.support.graphql_client import DEFAULT_PASSWORD, REGISTER
from tests.support.settings import make_settings

ERROR_CODE_VALUES = '{ __type(name: "ErrorCode") { kind enumValues { name description } } }'
AGENTS = "{ agents { totalCount edges { node { id } } } }"


@pytest.fixture(scope="module")
def schema() -> KaiSchema:
    built = build_schema()
    assert isinstance(built, KaiSchema)
    return built


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """The services of a started app on SQLite: what a Context is built from."""
    async with running_app(make_settings(sqlite_url, tmp_path / "data")) as app:
        yield services_of(app)


def context_for(services: Services, *, authorization: str | None = None) -> Context:
    """The Context of an HTTP request to /graphql, as the view builds it."""
    headers = [(b"authorization", authorization.encode())] if authorization else []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "query_string": b"",
        "headers": headers,
        "client": ("203.0.113.7", 40000),
        "server": ("testserver", 80),
        "scheme": "http",
    }
    return Context.build(services=services, connection=HTTPConnection(scope), request_id="req-1")


def codes(result: Any) -> list[str]:
    return [error.extensions["code"] for error in result.errors or []]


async def test_the_error_code_enum_lists_every_code_of_kai_errors(
    schema: KaiSchema,
) -> None:
    result = await schema.execute(ERROR_CODE_VALUES)

    assert result.errors is None
    assert result.data is not None
    values = result.data["__type"]["enumValues"]
    assert result.data["__type"]["kind"] == "ENUM"
    assert [value["name"] for value in values] == [code.value for code in ErrorCode]
    assert all(value["description"] for value in values)


async def test_a_subscription_through_execute_is_refused_with_a_code(
    schema: KaiSchema,
) -> None:
    with pytest.raises(InvalidOperationTypeError) as refused:
        await schema.execute('subscription { taskUpdates(taskId: "tsk_x") { id } }')

    assert refused.value.operation_type is OperationType.SUBSCRIPTION
    # What the HTTP view answers for it: a 400 in GraphQL's shape, with a code.
    response = http_error(400, refused.value.as_http_error_reason("POST"))
    body = json.loads(bytes(response.body))
    assert response.status_code == 400
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "subscriptions are not allowed" in body["errors"][0]["message"]


def object_defaults(core: graphql.GraphQLSchema) -> dict[tuple[str, ...], Any]:
    """Every default value that is an object: of input fields, (type, field), and of
    arguments, (type, field, argument)."""
    found: dict[tuple[str, ...], Any] = {}
    for named in core.type_map.values():
        if isinstance(named, graphql.GraphQLInputObjectType):
            for name, value in named.fields.items():
                found[(named.name, name)] = value.default_value
        if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            for name, field in named.fields.items():
                for arg_name, arg in field.args.items():
                    found[(named.name, name, arg_name)] = arg.default_value
    return {key: value for key, value in found.items() if isinstance(value, dict)}


def introspected_defaults(schema: dict[str, Any]) -> dict[tuple[str, ...], str | None]:
    found: dict[tuple[str, ...], str | None] = {}
    for named in schema["types"]:
        for value in named.get("inputFields") or []:
            found[(named["name"], value["name"])] = value["defaultValue"]
        for field in named.get("fields") or []:
            for arg in field["args"]:
                found[(named["name"], field["name"], arg["name"])] = arg["defaultValue"]
    return found


async def test_object_default_values_survive_introspection(schema: KaiSchema) -> None:
    expected = object_defaults(schema.graphql_core_schema)

    result = await schema.execute(graphql.get_introspection_query())

    assert result.errors is None
    assert result.data is not None
    introspected = introspected_defaults(result.data["__schema"])
    assert expected[("AgentCommandInput", "params")] == {}
    for key, value in expected.items():
        literal = introspected[key]
        assert literal is not None, key
        assert graphql.value_from_ast_untyped(graphql.parse_value(literal)) == value, key


async def test_a_signed_out_context_is_unauthenticated(
    schema: KaiSchema, services: Services
) -> None:
    signed_out = await schema.execute(AGENTS, context_value=context_for(services))
    bad_token = await schema.execute(
        AGENTS, context_value=context_for(services, authorization="Bearer not-a-token")
    )

    assert codes(signed_out) == ["UNAUTHENTICATED"]
    assert signed_out.data is None
    assert codes(bad_token) == ["UNAUTHENTICATED"]


async def test_a_signed_in_context_gets_the_data(schema: KaiSchema, services: Services) -> None:
    registered = await schema.execute(
        REGISTER,
        variable_values={"input": {"email": "exec@example.com", "password": DEFAULT_PASSWORD}},
        context_value=context_for(services),
    )
    assert registered.errors is None
    assert registered.data is not None
    token = registered.data["register"]["accessToken"]

    result = await schema.execute(
        AGENTS, context_value=context_for(services, authorization=f"Bearer {token}")
    )

    assert result.errors is None
    assert result.data == {"agents": {"totalCount": 0, "edges": []}}


async def test_a_context_makes_its_loaders_when_first_read(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket's Context lives as long as the socket, and a subscription of events never
    loads anything: its loaders are made on first use, and again after renew_loaders."""
    made = 0
    create = Loaders.create

    def counted(*args: Any, **kwargs: Any) -> Loaders:
        nonlocal made
        made += 1
        return create(*args, **kwargs)

    monkeypatch.setattr(Loaders, "create", counted)
    context = context_for(services)
    assert made == 0
    first = context.loaders
    assert context.loaders is first and made == 1
    context.renew_loaders()
    assert made == 1
    assert context.loaders is not first and made == 2
