"""graphql.schema is what the code serves, and what it serves keeps CONTRACT.graphql's names."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
)

from kai.graphql.schema import schema_sdl

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = build_schema((Path(__file__).parent / "contract" / "CONTRACT.graphql").read_text())
SERVED = build_schema(schema_sdl())

# The root fields this release serves. Each later area adds its own; the test
# below then holds every type they reach to the contract, field by field.
FOUNDATION_FIELDS = {
    "Query": {"me", "session", "apiKeys", "users", "auditLog", "node"},
    "Mutation": {
        "register",
        "login",
        "logout",
        "refreshToken",
        "requestMagicLink",
        "verifyMagicLink",
        "createApiKey",
        "revokeApiKey",
        "setUserRole",
    },
}


# Contract fields (and enum values) of served types that later areas bring, with the
# area that brings them. The list may only shrink: a test fails once one is served.
NOT_YET_SERVED: dict[tuple[str, str], str] = {}


def test_not_yet_served_fields_are_really_missing() -> None:
    for type_name, field in NOT_YET_SERVED:
        served = SERVED.get_type(type_name)
        assert served is not None, type_name
        names = served.values if isinstance(served, GraphQLEnumType) else served.fields  # type: ignore[attr-defined]
        assert field not in names, f"{type_name}.{field} is served: drop it from the list"


def test_graphql_schema_file_is_what_export_schema_prints() -> None:
    committed = (ROOT / "graphql.schema").read_text()

    assert committed == schema_sdl(), "run `uv run kai export-schema --output graphql.schema`"


@pytest.mark.parametrize("root", sorted(FOUNDATION_FIELDS))
def test_foundation_root_fields_are_served(root: str) -> None:
    served = SERVED.get_type(root)
    assert isinstance(served, GraphQLObjectType)

    assert FOUNDATION_FIELDS[root] <= set(served.fields)


def test_served_root_fields_match_the_contract_exactly() -> None:
    for root in ("Query", "Mutation", "Subscription"):
        contract_type = CONTRACT.get_type(root)
        served_type = SERVED.get_type(root)
        if served_type is None:
            continue
        assert isinstance(contract_type, GraphQLObjectType)
        assert isinstance(served_type, GraphQLObjectType)
        for name in set(contract_type.fields) & set(served_type.fields):
            _same_field(root, name, contract_type, served_type)


def test_every_contract_type_the_served_roots_reach_is_complete() -> None:
    for name in _reached_contract_types(SERVED):
        contract_type = CONTRACT.get_type(name)
        served_type = SERVED.get_type(name)
        assert served_type is not None, f"{name} is reached but not served"
        assert type(served_type) is type(contract_type), name
        if isinstance(contract_type, GraphQLEnumType):
            assert isinstance(served_type, GraphQLEnumType)
            promised = {v for v in contract_type.values if (name, v) not in NOT_YET_SERVED}
            assert promised <= set(served_type.values), name
        elif isinstance(
            contract_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            assert isinstance(
                served_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
            )
            for field in contract_type.fields:
                if (name, field) in NOT_YET_SERVED:
                    continue
                assert field in served_type.fields, f"{name}.{field} is missing"
                _same_field(name, field, contract_type, served_type)
            if isinstance(contract_type, GraphQLObjectType):
                assert isinstance(served_type, GraphQLObjectType)
                assert {i.name for i in contract_type.interfaces} <= {
                    i.name for i in served_type.interfaces
                }


def _same_field(owner: str, name: str, contract_type: object, served_type: object) -> None:
    contract_field = contract_type.fields[name]  # type: ignore[attr-defined]
    served_field = served_type.fields[name]  # type: ignore[attr-defined]
    assert str(served_field.type) == str(contract_field.type), f"{owner}.{name}"
    for arg, contract_arg in getattr(contract_field, "args", {}).items():
        assert arg in served_field.args, f"{owner}.{name}({arg}) is missing"
        served_arg = served_field.args[arg]
        assert str(served_arg.type) == str(contract_arg.type), f"{owner}.{name}({arg})"
        assert served_arg.default_value == contract_arg.default_value, f"{owner}.{name}({arg})"
    for arg, served_arg in getattr(served_field, "args", {}).items():
        if arg not in getattr(contract_field, "args", {}):
            # Additions must not break existing calls.
            assert not str(served_arg.type).endswith("!") or served_arg.default_value is not None


def _reached_contract_types(schema: GraphQLSchema) -> set[str]:
    """Contract types reachable from the served root fields that the contract also has."""
    seen: set[str] = set()
    stack: list[GraphQLNamedType] = []
    for root in ("Query", "Mutation", "Subscription"):
        served = schema.get_type(root)
        contract = CONTRACT.get_type(root)
        if not isinstance(served, GraphQLObjectType) or not isinstance(contract, GraphQLObjectType):
            continue
        for name in set(served.fields) & set(contract.fields):
            field = contract.fields[name]
            stack.append(get_named_type(field.type))
            stack.extend(get_named_type(arg.type) for arg in field.args.values())
    while stack:
        named = stack.pop()
        if named.name in seen or named.name.startswith("__"):
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if (named.name, field_name) not in NOT_YET_SERVED:
                    stack.append(get_named_type(field.type))
        if isinstance(named, GraphQLInterfaceType):
            stack.extend(
                t
                for t in CONTRACT.type_map.values()
                if isinstance(t, GraphQLObjectType)
                and named in t.interfaces
                and SERVED.get_type(t.name) is not None
            )
    return {name for name in seen if name in CONTRACT.type_map and name not in _SCALARS}


_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
