from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with an opaque, globally unique id.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque id, stable for the object's life.")
