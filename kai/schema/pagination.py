from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, Protocol, Self, TypeVar

import strawberry

from kai.services.pagination import MAX_PAGE, Page, Sorting

# The descriptions of the `first` and `after` arguments of every connection field.
FIRST_DESCRIPTION = f"How many to return, 1 to {MAX_PAGE}; 50 when left out or null."
AFTER_DESCRIPTION = (
    "A cursor of an earlier page of the same list, filter and order (an edge's cursor or "
    "pageInfo.endCursor): the page starts just after it; null starts from the beginning. "
    "A cursor the server did not write for this list and order is refused (BAD_USER_INPUT)."
)
# The `first` and `after` arguments of a connection field, typed and described once.
First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


@strawberry.enum(description="Which way a list is sorted.")
class OrderDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest, earliest or A first.")
    DESC = strawberry.enum_value("DESC", description="Largest, latest or Z first.")


class OrderInput(Protocol):
    """A list's `orderBy` input: a field of its order enum, and a direction."""

    @property
    def field(self) -> enum.Enum: ...
    @property
    def direction(self) -> OrderDirection: ...


def sorting(order: OrderInput | None, default: str) -> Sorting:
    """What a list's `orderBy` asks for; no `orderBy`: `default`, newest first."""
    if order is None:
        return Sorting(default, descending=True)
    return Sorting(str(order.field.value), descending=order.direction is OrderDirection.DESC)


@strawberry.type(description="Where a page of a connection ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on an empty page."
    )

    has_previous_page: bool = strawberry.field(
        default=False,
        description="Whether more come before this page: known when paging backwards "
        "(`last`, `before`, where a list takes them); false when paging forwards.",
    )
    start_cursor: str | None = strawberry.field(
        default=None,
        description="Pass as `before` to get the page before; null on an empty page.",
    )

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            end_cursor=page.cursors[-1] if page.cursors else None,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
        )


NodeT = TypeVar("NodeT")
EdgeT = TypeVar("EdgeT", bound="Edge[Any]")
RowT = TypeVar("RowT")


@strawberry.type
class Edge(Generic[NodeT]):
    """One item of a page and its cursor. Each area names its own (`TaskEdge`), as the
    contract does: `class TaskEdge(Edge[Task])`."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type
class Connection(Generic[EdgeT]):
    """A page of a list, newest first (Relay's connection shape). Each area names its own:
    `class TaskConnection(Connection[TaskEdge])`."""

    edges: list[EdgeT] = strawberry.field(description="This page's items, each with its cursor.")
    page_info: PageInfo = strawberry.field(description="Whether more follow.")
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @classmethod
    def of(
        cls,
        page: Page[RowT],
        edge: type[EdgeT],
        node: Callable[[RowT], Any],
        *,
        count: Callable[[], Awaitable[int]] | None = None,
    ) -> Self:
        """The connection of a page of rows: `node` makes each row's GraphQL object;
        `count` replaces the page's own counter (a batched one, for nested lists)."""
        return cls(
            edges=[
                edge(cursor=cursor, node=node(row))
                for row, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
            count=count or page.count,
        )


@strawberry.type
class CountedConnection(Connection[EdgeT]):
    """A connection that can say how long the whole list is."""

    @strawberry.field(
        description="How many items the whole list holds, filters applied. Counted by a "
        "statement of its own, only when asked for."
    )
    async def total_count(self) -> int:
        assert self.count is not None, "a counted connection is made from a counted page"
        return await self.count()
