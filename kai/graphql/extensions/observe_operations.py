"""GraphQL operations in /metrics: counts, latency, error codes, running subscriptions.

Listed before ErrorCodes among the schema's extensions, so its hooks end after
the errors got their codes: the codes counted are the ones clients receive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from kai.observability import metrics

log = logging.getLogger(__name__)


def count_errors(result: Any) -> None:
    for error in getattr(result, "errors", None) or []:
        code = (error.extensions or {}).get("code") if hasattr(error, "extensions") else None
        metrics.ERRORS.labels(str(code or "NONE")).inc()


def operation_type_of(execution: ExecutionContext) -> OperationType | None:
    """The operation's type; None when the document did not parse (Strawberry raises then)."""
    if execution.graphql_document is None:
        return None
    try:
        return execution.operation_type
    except Exception:  # no such operation in the document: the errors say so
        return None


class ObserveOperations(SchemaExtension):
    _subscribed = False

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            if self._subscribed:
                metrics.SUBSCRIPTIONS.dec()
        try:
            self._record(time.perf_counter() - started)
        except Exception:  # metrics must never change an answer
            log.exception("could not record an operation's metrics")

    def _record(self, seconds: float) -> None:
        execution = self.execution_context
        operation_type = operation_type_of(execution)
        kind = operation_type.value if operation_type else "unknown"
        name = metrics.operation_label(execution.operation_name)
        metrics.OPERATIONS.labels(kind, name).inc()
        if operation_type is not OperationType.SUBSCRIPTION:
            metrics.OPERATION_SECONDS.labels(kind, name).observe(seconds)
        count_errors(execution.result)

    def on_execute(self) -> Iterator[None]:
        if operation_type_of(self.execution_context) is OperationType.SUBSCRIPTION:
            self._subscribed = True
            metrics.SUBSCRIPTIONS.inc()
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        yield
        count_errors(result)  # after ErrorCodes (inside this hook) coded them
