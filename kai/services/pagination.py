"""Cursor pagination shared by every connection: `first` capped, cursors opaque."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from kai.errors import BadUserInput

MAX_PAGE = 500
T = TypeVar("T")


def page_size(first: int | None, *, field: str = "first") -> int:
    if first is None:
        return 50
    if first < 1 or first > MAX_PAGE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE}.", field=field)
    return first


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, field: str = "after") -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput("Invalid cursor.", field=field) from exc


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    cursors: Sequence[str]
    has_next_page: bool


def make_page(rows: Sequence[T], size: int, cursor_of: Callable[[T], object]) -> Page[T]:
    """`rows` was fetched with LIMIT size + 1: the extra row only says there is more."""
    items = rows[:size]
    return Page(items, [encode_cursor(str(cursor_of(row))) for row in items], len(rows) > size)
