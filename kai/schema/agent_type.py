"""The kinds of agent (echo, llm, remote, and any added) and what configuring one takes."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from kai.runtimes.base import Runtime


@strawberry.type(description="A kind of agent and what configuring it takes.")
class AgentType:
    name: str = strawberry.field(description="e.g. echo, llm, remote")
    description: str = strawberry.field(description="What agents of this type do.")
    config_schema: JSON = strawberry.field(
        description="JSON Schema that AgentConfigInput.configuration must satisfy for this type."
    )
    task_types: list[str] = strawberry.field(
        description=(
            "Task types this agent type accepts in enqueueTask "
            "(remote: each agent's own, its configuration's taskTypes)."
        )
    )

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> AgentType:
        return cls(
            name=runtime.name,
            description=runtime.description,
            config_schema=JSON(runtime.config_schema),
            task_types=list(runtime.task_types),
        )
