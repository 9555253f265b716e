"""`agents`: a page of agents, filtered and sorted."""

from __future__ import annotations

import enum

import strawberry

from kai.schema.agent import Agent
from kai.schema.agent_status import AgentState
from kai.schema.pagination import CountedConnection, Edge, OrderDirection, sorting
from kai.services.agent import AgentFilter as AgentFilterValue
from kai.services.pagination import Sorting


@strawberry.type(description="An agent in a page.")
class AgentEdge(Edge[Agent]):
    pass


@strawberry.type(description="A page of agents.")
class AgentConnection(CountedConnection[AgentEdge]):
    pass


@strawberry.input(description="Which agents to list; every condition given must hold.")
class AgentFilter:
    states: list[AgentState] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only agents in one of these states (at most 100)."
    )
    types: list[str] | None = strawberry.field(
        default=None, description="Only agents of one of these types (at most 100)."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name."
    )
    capability: str | None = strawberry.field(
        default=None, description="Only agents that list this capability."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="ADMIN only: one user's agents."
    )

    def value(self) -> AgentFilterValue:
        return AgentFilterValue(
            states=self.states,
            types=self.types,
            name_contains=self.name_contains,
            capability=self.capability,
            owner_id=str(self.owner_id) if self.owner_id is not None else None,
        )


@strawberry.enum(description="What agents can be sorted by (then by id).")
class AgentOrderField(enum.Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was created.")
    NAME = strawberry.enum_value("NAME", description="Its name, ignoring case.")


@strawberry.input(description="How to sort agents.")
class AgentOrder:
    field: AgentOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(description="Which way.")


def agent_sorting(order: AgentOrder | None) -> Sorting:
    return sorting(order, "CREATED_AT")
