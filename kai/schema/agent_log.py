"""An agent's log lines, and pages of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from kai.models.agent_log import AgentLog as AgentLogRow
from kai.models.agent_log import LogLevel as LogLevelValue
from kai.schema.enums import described_enum
from kai.schema.pagination import Connection, Edge
from kai.services.pagination import Page

LogLevel = described_enum(
    LogLevelValue,
    name="LogLevel",
    description="Severity of a log line, from DEBUG (lowest) to ERROR (highest).",
    values={
        "DEBUG": "Detail for debugging; the lowest severity.",
        "INFO": "Normal operation.",
        "WARNING": "Something unexpected that did not stop the work.",
        "ERROR": "A failure; the highest severity.",
    },
)

# The descriptions of the filters of every list of log lines.
LEVEL_DESCRIPTION = "Only lines of this severity or higher; null keeps all."
SINCE_DESCRIPTION = (
    "Only lines logged at or after this instant, which must carry a UTC offset; null keeps all."
)


@strawberry.type(description="One log line of an agent.")
class LogEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    agent_id: strawberry.ID = strawberry.field(description="The agent that logged it.")
    level: LogLevel = strawberry.field(description="Severity.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="The text.")
    data: JSON | None = strawberry.field(description="Structured detail, if any.")
    timestamp: datetime = strawberry.field(description="When it was logged.")

    @classmethod
    def from_row(cls, row: AgentLogRow) -> LogEntry:
        return cls(
            id=strawberry.ID(f"log_{row.id}"),
            agent_id=strawberry.ID(row.agent_id),
            level=row.level,
            message=row.message,
            data=JSON(row.data),
            timestamp=row.timestamp,
        )


@strawberry.type(description="A log line in a page.")
class LogEdge(Edge[LogEntry]):
    pass


@strawberry.type(description="A page of log lines, newest first.")
class LogConnection(Connection[LogEdge]):
    @classmethod
    def from_page(cls, page: Page[AgentLogRow]) -> LogConnection:
        return cls.of(page, LogEdge, LogEntry.from_row)


# The `level` and `since` arguments of a log listing, typed and described once.
LevelAtLeast = Annotated[
    LogLevel | None,  # type: ignore[valid-type]
    strawberry.argument(description=LEVEL_DESCRIPTION),
]
Since = Annotated[datetime | None, strawberry.argument(description=SINCE_DESCRIPTION)]
