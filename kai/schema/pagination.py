from __future__ import annotations

import strawberry


@strawberry.type(description="Where a page of a connection ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on an empty page."
    )
