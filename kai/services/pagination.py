"""Keyset pagination shared by every connection: `first` capped, cursors signed.

A page is one statement, `ORDER BY key, id LIMIT first + 1` from a position; the count is
a second one, run only when a client asks for `totalCount`. A cursor names a position in
one ordering of one list (the sort key's value and the id of the row it follows, never an
offset), so rows added or removed meanwhile neither repeat nor skip one.

Cursors are opaque to clients and tamper-evident: an HMAC, with a key derived from the
server's JWT key material (every replica holds it), covers the list, the order and the
position. A cursor that was edited, made up, cut short, or made for another list or order
is refused with BAD_USER_INPUT before any statement runs: the database only ever compares
against positions the server itself handed out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from kai.errors import BadUserInput

MAX_PAGE = 500
DEFAULT_PAGE = 50
# Longer than any cursor this server writes (a 100-character name, JSON-escaped, in
# base64): anything longer is refused before it is decoded.
MAX_CURSOR_CHARS = 1024
_LABEL = b"kai/page-cursor/v1\0"
_MAC_BYTES = 16

T = TypeVar("T")
Kind = Literal["datetime", "str", "int"]


def page_size(first: int | None, *, field: str = "first") -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE}.", field=field)
    return first


def few(values: Sequence[T] | None, *, field: str, at_most: int = 100) -> Sequence[T] | None:
    """A filter's list of values, bounded: each becomes a bound parameter."""
    if values is not None and len(values) > at_most:
        raise BadUserInput(f"At most {at_most} values.", field=field)
    return values


def fragment(text: str | None, *, field: str, at_most: int = 200) -> str | None:
    """A filter's substring (matched with LIKE, its wildcards escaped), bounded."""
    if text is not None and len(text) > at_most:
        raise BadUserInput(f"At most {at_most} characters.", field=field)
    return text


@dataclass(frozen=True, slots=True)
class Sorting:
    """What a client asked to sort by: a field of the list's order enum, and the direction."""

    field: str = "CREATED_AT"
    descending: bool = True


def ordering(
    name: str,
    keys: dict[str, tuple[Any, Kind]],
    id: Any,
    sorting: Sorting,
    *,
    id_kind: Kind = "str",
) -> Order:
    """The order of list `name` that `sorting` picks among `keys` (field: key and kind)."""
    key, kind = keys[sorting.field]
    direction = "DESC" if sorting.descending else "ASC"
    return Order(
        scope=f"{name}/{sorting.field}/{direction}",
        id=id,
        id_kind=id_kind,
        descending=sorting.descending,
        key=key,
        key_kind=kind,
    )


@dataclass(frozen=True, slots=True)
class Order:
    """One ordering of one list: by `key` (None: by id alone), then by `id`, both in the
    same direction. `scope` ("agents/NAME/ASC") is what the order's cursors are good for."""

    scope: str
    id: Any
    id_kind: Kind
    descending: bool
    key: Any = None
    key_kind: Kind = "str"

    def columns(self) -> list[Any]:
        """What each page selects besides its rows: the key, as the database computes it
        (lower(name) in SQLite is not Python's str.lower), then the id."""
        return [self.key, self.id] if self.key is not None else [self.id]

    def sorting(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns()]

    def after(self, position: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly past `position` in this order."""
        past: Callable[[Any, Any], ColumnElement[bool]] = (
            (lambda c, v: c < v) if self.descending else (lambda c, v: c > v)
        )
        if self.key is None:
            return past(self.id, position[0])
        key, id_ = position
        return or_(past(self.key, key), and_(self.key == key, past(self.id, id_)))


def _decoded(kind: Kind, value: Any) -> Any:
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    raise ValueError(value)


def _encoded(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    cursors: Sequence[str]
    has_next_page: bool
    # How many rows the whole list holds, filters applied: a statement of its own,
    # run only when asked for (None where the list has no totalCount).
    count: Callable[[], Awaitable[int]] | None = field(default=None, compare=False)
    # Whether rows come before this page (known when paging backwards, with `last`).
    has_previous_page: bool = False


class Pager:
    """Writes and reads the cursors of every list, and fetches pages."""

    def __init__(self, key_material: str):
        # A label keeps this key apart from the JWT key (and the download URLs' key).
        self._key = hashlib.sha256(_LABEL + key_material.encode()).digest()

    def cursor(self, order: Order, position: Sequence[Any]) -> str:
        payload = json.dumps(
            [order.scope, *map(_encoded, position)], separators=(",", ":"), ensure_ascii=False
        ).encode()
        token = self._mac(payload) + payload
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def position(
        self, order: Order, cursor: str | None, *, field: str = "after"
    ) -> tuple[Any, ...] | None:
        """The position `cursor` names in `order`; BAD_USER_INPUT unless this server wrote
        it for this very list and order."""
        if cursor is None:
            return None
        invalid = BadUserInput("Invalid cursor.", field=field)
        if len(cursor) > MAX_CURSOR_CHARS:
            raise invalid
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise invalid from exc
        mac, payload = token[:_MAC_BYTES], token[_MAC_BYTES:]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
            raise invalid
        scope, *values = json.loads(payload)  # written by cursor(): well-formed
        if scope != order.scope:
            raise BadUserInput(
                "This cursor belongs to another list or order: start again without `after`.",
                field=field,
            )
        kinds = [order.key_kind, order.id_kind] if order.key is not None else [order.id_kind]
        try:
            return tuple(_decoded(k, v) for k, v in zip(kinds, values, strict=True))
        except ValueError as exc:  # an order whose kinds changed since the cursor was written
            raise invalid from exc

    def page(
        self,
        order: Order,
        rows: Sequence[Any],
        size: int,
        count: Callable[[], Awaitable[int]] | None = None,
    ) -> Page[Any]:
        """A page from `rows` of (item, *order.columns()) fetched with LIMIT size + 1: the
        extra row only says that there is more."""
        kept = rows[:size]
        return Page(
            [row[0] for row in kept],
            [self.cursor(order, tuple(row[1:])) for row in kept],
            len(rows) > size,
            count,
        )

    async def fetch(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: Any,
        filters: Sequence[ColumnElement[bool]],
        order: Order,
        *,
        first: int | None,
        after: str | None,
        fields: tuple[str, str] = ("first", "after"),
    ) -> Page[Any]:
        """A page of `model`'s rows that pass `filters`, in `order`: one statement; the
        count is another, run when asked for. `fields` names the arguments that gave
        `first` and `after` in errors (("last", "before") for a page read backwards)."""
        size = page_size(first, field=fields[0])
        position = self.position(order, after, field=fields[1])
        query: Select[Any] = select(model, *order.columns()).where(*filters)
        if position is not None:
            query = query.where(order.after(position))
        query = query.order_by(*order.sorting()).limit(size + 1)
        async with sessionmaker() as session:
            rows = (await session.execute(query)).all()
        return self.page(order, rows, size, counter(sessionmaker, model, filters))

    async def fetch_each(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: Any,
        group: Any,
        groups: Sequence[str],
        filters: Sequence[ColumnElement[bool]],
        order: Order,
        *,
        first: int | None,
        after: str | None,
    ) -> dict[str, Page[Any]]:
        """The same page of each group's rows (`group` in `groups`: each agent's tasks), in
        one statement, for a list nested in a list. No counts: a batched count fits better."""
        size = page_size(first)
        position = self.position(order, after)
        where = [group.in_(groups), *filters]
        if position is not None:
            where.append(order.after(position))
        keys = [c.label(f"page_key_{i}") for i, c in enumerate(order.columns())]
        rank = func.row_number().over(partition_by=group, order_by=order.sorting())
        ranked = select(model, *keys, rank.label("page_rank")).where(*where).subquery()
        picked = [ranked.c[key.name] for key in keys]
        query = (
            select(aliased(model, ranked), ranked.c[group.key], *picked)
            .where(ranked.c.page_rank <= size + 1)
            .order_by(ranked.c[group.key], *[c.desc() if order.descending else c for c in picked])
        )
        async with sessionmaker() as session:
            rows = (await session.execute(query)).all()
        by_group: dict[str, list[Any]] = {name: [] for name in groups}
        for item, name, *position_of_row in rows:
            by_group[name].append((item, *position_of_row))
        return {name: self.page(order, found, size) for name, found in by_group.items()}

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def counter(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: Any,
    filters: Sequence[ColumnElement[bool]],
) -> Callable[[], Awaitable[int]]:
    """How many of `model`'s rows pass `filters`: one statement, when called."""
    query = select(func.count()).select_from(model).where(*filters)

    async def count() -> int:
        async with sessionmaker() as session:
            return int(await session.scalar(query) or 0)

    return count
