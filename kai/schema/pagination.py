from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, Self, TypeVar

import strawberry

from kai.services.pagination import MAX_PAGE, Page

# The descriptions of the `first` and `after` arguments of every connection field.
FIRST_DESCRIPTION = f"How many to return, 1 to {MAX_PAGE}; 50 when left out or null."
AFTER_DESCRIPTION = (
    "A cursor of an earlier page (an edge's cursor or pageInfo.endCursor): "
    "the page starts just after it; null starts from the newest."
)
# The `first` and `after` arguments of a connection field, typed and described once.
First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


@strawberry.type(description="Where a page of a connection ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on an empty page."
    )

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next_page,
            end_cursor=page.cursors[-1] if page.cursors else None,
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

    @classmethod
    def of(cls, page: Page[RowT], edge: type[EdgeT], node: Callable[[RowT], Any]) -> Self:
        """The connection of a page of rows: `node` makes each row's GraphQL object."""
        return cls(
            edges=[
                edge(cursor=cursor, node=node(row))
                for row, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page),
        )
