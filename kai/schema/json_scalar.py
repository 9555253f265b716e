"""The `JSON` scalar, with the limits of kai.json_values checked on every value a client
sends, as a variable or written in the document. Same name, description and
specifiedBy URL as Strawberry's own, which it replaces (build_schema's scalar_overrides)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from kai.json_values import JSONRefused, check_json

ECMA_404 = (
    "https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf"
)


def _parse(value: Any) -> Any:
    try:
        check_json(value)
    except JSONRefused as refusal:
        # A GraphQLError: graphql-core reports it with the variable's or argument's path.
        raise GraphQLError(str(refusal)) from None
    return value


JSON_SCALAR = strawberry.scalar(
    name="JSON",
    description=(
        f"The `JSON` scalar type represents JSON values as specified by [ECMA-404]({ECMA_404})."
    ),
    specified_by_url=ECMA_404,
    serialize=lambda value: value,
    parse_value=_parse,
)
