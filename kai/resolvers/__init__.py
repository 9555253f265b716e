"""What each root field does: unpack the Context, check, call a service, shape the answer."""

from __future__ import annotations

import strawberry

from kai.context import Context

Info = strawberry.Info[Context, None]
