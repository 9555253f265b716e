"""Shared column types and id/time helpers for every table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, String, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Opaque ids that say what they name (`usr_…`, `key_…`), so `node(id)` knows where to look."""
    return f"{prefix}_{uuid.uuid4().hex}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonArrayHas(ColumnElement[bool]):
    """`value` is an element of the JSON array in `column`, on every backend: PostgreSQL's
    jsonb `?` (the column is json, cast), SQLite's json_each."""

    inherit_cache = True
    type = Boolean()
    # What the statement cache keys on: without these, a statement holding one was
    # compiled again at every execution (no cache key at all).
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("value", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, value: str):
        self.column = column
        self.value = bindparam(None, value, type_=String())


@compiles(JsonArrayHas, "postgresql")
def _json_array_has_postgresql(element: JsonArrayHas, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"(CAST({column} AS JSONB) ? {compiler.process(element.value, **kw)})"


@compiles(JsonArrayHas)
def _json_array_has_sqlite(element: JsonArrayHas, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    value = compiler.process(element.value, **kw)
    # Both are compiled SQL (a column and a bound parameter), never client text.
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"  # noqa: S608


class NewId(ColumnElement[str]):
    """A new opaque id made by the database (`new_id`'s shape), for rows inserted by one
    INSERT ... SELECT (an event's webhook deliveries)."""

    inherit_cache = True
    type = String()
    _traverse_internals = [("prefix", InternalTraversal.dp_clauseelement)]

    def __init__(self, prefix: str):
        self.prefix = bindparam(None, f"{prefix}_", type_=String())


@compiles(NewId, "postgresql")
def _new_id_postgresql(element: NewId, compiler: Any, **kw: Any) -> str:
    prefix = compiler.process(element.prefix, **kw)
    return f"({prefix} || replace(CAST(gen_random_uuid() AS TEXT), '-', ''))"


@compiles(NewId)
def _new_id_sqlite(element: NewId, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.prefix, **kw)} || lower(hex(randomblob(16))))"
