"""Counting the SQL statements a piece of work sends: cost counted, never timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def counting_statements(app: Any) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs, in order."""
    statements: list[str] = []
    engine = app.state.services.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
