"""Lists: one page (--limit, --after) or every page (--all), and a word on stderr when
more are left."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class PageInfo(Protocol):
    @property
    def has_next_page(self) -> bool: ...
    @property
    def end_cursor(self) -> str | None: ...


def nodes(
    args: argparse.Namespace,
    page: Callable[[int, str | None], Any],
    every: Callable[[], Iterable[T]],
) -> list[T]:
    """`page(first, after)` answers a connection (edges, page_info, maybe total_count);
    `every()` every node, page after page."""
    if args.all:
        return list(every())
    connection = page(args.limit, args.after)
    found: list[T] = [edge.node for edge in connection.edges]
    info: PageInfo = connection.page_info
    if info.has_next_page and info.end_cursor:
        total = getattr(connection, "total_count", None)
        shown = f"{len(found)} of {total}" if total is not None else f"{len(found)}"
        print(
            f"kai: {shown} shown; more with --all, or the next page with --after {info.end_cursor}",
            file=sys.stderr,
        )
    return found
