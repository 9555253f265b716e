"""The `DateTime` scalar: ISO 8601 in, ISO 8601 out, with a clear error for what cannot be
one, and no instant outside the years 1 to 9999 once in UTC, which no database holds
(`0001-01-01T00:00:00+14:00` was an INTERNAL_SERVER_ERROR). Same name and description as
Strawberry's own, which it replaces (build_schema's scalar_overrides). Its refusals say
what is wrong in kAI's words, never Python's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLError

EXAMPLE = "2026-12-04T21:08:00Z"


def _parse(value: Any) -> datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"A DateTime is an ISO 8601 string, like {EXAMPLE}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise GraphQLError(
            f"Not an ISO 8601 date and time: {shown!r}; for example {EXAMPLE}."
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            raise GraphQLError(
                "That instant falls outside the years 1 to 9999 in UTC, which nothing can store."
            ) from None
    return parsed


DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=lambda value: value.isoformat(),
    parse_value=_parse,
)
