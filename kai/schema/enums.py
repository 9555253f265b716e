"""GraphQL enums whose every value is described.

Most GraphQL enums wrap an enum of `kai.models` (or of a runtime) that the database and
the services use as it is: its members cannot carry GraphQL descriptions. `described_enum`
makes the GraphQL enum and describes each value from a mapping, and refuses a mapping that
does not name exactly the enum's members, so a member added without a description fails
at import rather than reaching the schema undocumented.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

EnumT = TypeVar("EnumT", bound=enum.EnumMeta)


def described_enum(cls: EnumT, *, name: str, description: str, values: Mapping[str, str]) -> EnumT:
    """`strawberry.enum(cls, name=..., description=...)` with `values[member]` as the
    description of each member's GraphQL value; ValueError unless `values` names exactly
    the members of `cls`, each with a non-empty description."""
    members = [member.name for member in cls]  # type: ignore[var-annotated]
    missing = [member for member in members if not values.get(member, "").strip()]
    unknown = sorted(set(values) - set(members))
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"no description for {', '.join(missing)}")
        if unknown:
            problems.append(f"descriptions of no member: {', '.join(unknown)}")
        raise ValueError(f"enum {name}: {'; '.join(problems)}")
    described = strawberry.enum(cls, name=name, description=description)
    definition = getattr(described, "__strawberry_definition__", None)
    assert isinstance(definition, StrawberryEnumDefinition)
    for value in definition.values:
        # `value.value` is the member's Python value; the member's name keys `values`.
        value.description = values[cls(value.value).name]
    return described
