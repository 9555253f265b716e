"""Every part of the public schema is described, and no description cites what a client
cannot read: a file of the repository or a requirement id of its documents."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_scalar_types,
)

from kai.graphql.schema import KaiSchema, build_schema
from kai.schema.enums import described_enum


def _served() -> GraphQLSchema:
    schema = build_schema()
    assert isinstance(schema, KaiSchema)
    return schema.graphql_core_schema


SCHEMA = _served()


def _described() -> Iterator[tuple[str, str | None]]:
    """(where, description) of every type, field, argument, input field and enum value,
    introspection types and the built-in scalars left out."""
    for name, named in SCHEMA.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        yield f"type {name}", named.description
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                yield f"field {name}.{field_name}", field.description
                for arg_name, arg in field.args.items():
                    yield f"argument {name}.{field_name}({arg_name})", arg.description
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                yield f"input field {name}.{field_name}", input_field.description
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                yield f"enum value {name}.{value_name}", value.description


DESCRIPTIONS = [(where, text) for where, text in _described() if text and text.strip()]

# A file name: "SECURITY.md", "docs/security.md", "CONTRACT.graphql", "kai/errors.py".
FILE = re.compile(r"\b[\w/.-]+\.(?:md|graphql|py)\b", re.IGNORECASE)
# The repository's documents, named without their extension.
DOCUMENT = re.compile(r"\b(?:SECURITY|CONTRACT|README|ARCHITECTURE)\b")
# A requirement id: a capital and one or two digits. Cited in parentheses, alone or in a
# list (`(G7)`, `(A3, K2)`, `(G1-G3)`, `(A5: ...)`), it is always an id; standing alone,
# it is one unless it is Amazon's object store ("an S3 bucket", "S3-compatible").
_ID = r"[A-Z]\d{1,2}"
CITED_IDS = re.compile(rf"\(\s*{_ID}(?:\s*(?:[-–/,]|and)\s*{_ID})*\s*[):]")
BARE_ID = re.compile(
    rf"(?<![\w.-])(?!S3[\s-]+(?:bucket|buckets|object|objects|store|storage|compatible)\b)"
    rf"{_ID}(?![\w-])"
)


def citations(text: str) -> list[str]:
    """What in `text` names a file, a document or a requirement id."""
    found = [m.group(0) for m in FILE.finditer(text)]
    found += [m.group(0) for m in DOCUMENT.finditer(text)]
    found += [m.group(0) for m in CITED_IDS.finditer(text)]
    found += [m.group(0) for m in BARE_ID.finditer(text)]
    return found


def test_everything_in_the_schema_has_a_description() -> None:
    missing = [where for where, text in _described() if not (text and text.strip())]

    assert not missing, "no description:\n" + "\n".join(missing)


def test_the_check_sees_every_kind_of_schema_element() -> None:
    kinds = {where.split(" ", 1)[0] for where, _ in _described()}

    assert {"type", "field", "argument", "input", "enum"} <= kinds


def test_no_description_cites_a_file_a_document_or_a_requirement_id() -> None:
    cited = [
        f"{where}: {', '.join(found)}" for where, text in DESCRIPTIONS if (found := citations(text))
    ]

    assert not cited, "descriptions citing what clients cannot read:\n" + "\n".join(cited)


# Made-up ids, put in by f-strings: tests/test_security_doc.py reads "(A4)" in a string
# of a test module as a citation of docs/security.md, which these examples are not.
_ID, _OTHER = "Z7", "Z12"


@pytest.mark.parametrize(
    "text",
    [
        f"A taken email answers CONFLICT (documented exception to SECURITY.md {_ID}).",
        "See docs/security.md.",
        "Names kept as in CONTRACT.graphql.",
        "Defined in kai/errors.py.",
        "See the permission matrix in the README.",
        f"Every kind is authorised on its own ({_OTHER}).",
        f"Refused ({_ID}, {_OTHER}).",
        f"Covered ({_ID}-{_OTHER}).",
        f"Throttled as {_ID} says.",
        "Not the object store: (S3).",
    ],
)
def test_citations_are_found(text: str) -> None:
    assert citations(text)


@pytest.mark.parametrize(
    "text",
    [
        "Stored on local disk or in an S3 bucket.",
        "Any S3-compatible store.",
        "Fraction 0..1, reported by the runtime.",
        "SHA-256 of the content, hex.",
        "Memory, as a quantity like 512Mi.",
        "The permission checked, e.g. agent.delete",
        "Send as `Authorization: Bearer <token>`; short-lived.",
        "The UTF-8 text, up to 10000 characters.",
        "The security of the session is checked on every request.",
    ],
)
def test_ordinary_text_is_not_a_citation(text: str) -> None:
    assert citations(text) == []


class _Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


def test_described_enum_refuses_a_member_without_a_description() -> None:
    with pytest.raises(ValueError, match="no description for GREEN"):
        described_enum(_Colour, name="Colour", description="A colour.", values={"RED": "Red."})


def test_described_enum_refuses_an_empty_description() -> None:
    with pytest.raises(ValueError, match="no description for GREEN"):
        described_enum(
            _Colour, name="Colour", description="A colour.", values={"RED": "Red.", "GREEN": " "}
        )


def test_described_enum_refuses_a_description_of_no_member() -> None:
    with pytest.raises(ValueError, match="descriptions of no member: BLUE"):
        described_enum(
            _Colour,
            name="Colour",
            description="A colour.",
            values={"RED": "Red.", "GREEN": "Green.", "BLUE": "Blue."},
        )


def test_described_enum_describes_every_value() -> None:
    class Shade(enum.Enum):
        DARK = "dark"
        LIGHT = "light"

    described = described_enum(
        Shade, name="Shade", description="A shade.", values={"DARK": "Dark.", "LIGHT": "Light."}
    )

    definition = described.__strawberry_definition__  # type: ignore[attr-defined]
    assert definition.name == "Shade"
    assert definition.description == "A shade."
    assert {v.name: v.description for v in definition.values} == {
        "DARK": "Dark.",
        "LIGHT": "Light.",
    }
    # The Python enum itself is left as it was.
    assert Shade("dark") is Shade.DARK
