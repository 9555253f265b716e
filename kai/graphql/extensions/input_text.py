"""Text with NUL characters is refused before any resolver runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import BREAK, DocumentNode, GraphQLError, Visitor, visit
from strawberry.extensions import SchemaExtension

from kai.errors import BadUserInput

NUL = "\x00"
MESSAGE = "Text may not contain NUL (U+0000) characters."


class RefuseNulText(SchemaExtension):
    """PostgreSQL cannot store U+0000 in text and asyncpg refuses it as a parameter:
    an id, email or name with one answered INTERNAL_SERVER_ERROR (SQLite took it).
    No input of kAI needs one, so variables and string literals, whatever their
    type, are checked before execution, on every transport."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        where = _in_value(context.variables or {}, ())
        if where is None and context.graphql_document is not None:
            where = _in_document(context.graphql_document)
        if where is not None:
            # Raised from here, the error leaves after ErrorCodes ran: it carries its code.
            refusal = BadUserInput(MESSAGE, field=where or "query")
            raise GraphQLError(MESSAGE, extensions=refusal.as_extensions())
        yield


def _in_value(value: Any, path: tuple[str, ...]) -> str | None:
    """The dotted path of the first string holding a NUL (keys included), if any.

    Iterative: variables nest as deep as JSON allows, past Python's recursion limit.
    """
    pending = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return ".".join(where)
        elif isinstance(item, dict):
            for key, child in item.items():
                pending.append((key, where))
                pending.append((child, (*where, str(key))))
        elif isinstance(item, list):
            pending.extend((child, where) for child in item)
    return None


class _NulLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.found: str | None = None

    def enter_argument(self, node: Any, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_argument(self, *_: Any) -> None:
        self.path.pop()

    def enter_object_field(self, node: Any, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_object_field(self, *_: Any) -> None:
        self.path.pop()

    def enter_string_value(self, node: Any, *_: Any) -> Any:
        if NUL in node.value:
            self.found = ".".join(self.path)
            return BREAK
        return None


def _in_document(document: DocumentNode) -> str | None:
    visitor = _NulLiteral()
    visit(document, visitor)
    return visitor.found
