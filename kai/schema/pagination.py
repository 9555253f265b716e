from __future__ import annotations

from typing import Any

import strawberry

from kai.services.pagination import MAX_PAGE, Page

# The descriptions of the `first` and `after` arguments of every connection field.
FIRST_DESCRIPTION = f"How many to return, 1 to {MAX_PAGE}; 50 when left out or null."
AFTER_DESCRIPTION = (
    "A cursor of an earlier page (an edge's cursor or pageInfo.endCursor): "
    "the page starts just after it; null starts from the newest."
)


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
