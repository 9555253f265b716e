"""The error codes as a GraphQL enum, so that typed clients generated from the schema get
them as a type. Errors still carry the code as text in `extensions.code` (GraphQL errors
have no typed extensions); the enum lists what that text can be."""

from __future__ import annotations

import enum

import strawberry

from kai import errors

# A second Python enum (kai.errors.ErrorCode stays a plain StrEnum that the code compares
# and sends): its members carry the descriptions.
_Described: type[enum.Enum] = enum.Enum(  # type: ignore[misc]
    "ErrorCode",
    {
        code.name: strawberry.enum_value(code.value, description=errors.DESCRIPTIONS[code])
        for code in errors.ErrorCode
    },
)

ErrorCode = strawberry.enum(
    _Described,
    name="ErrorCode",
    description="What went wrong: the value of `extensions.code` in every error kAI sends.",
)
