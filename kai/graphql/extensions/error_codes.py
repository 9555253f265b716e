"""Every GraphQL error leaves with an `extensions.code`; unexpected ones are masked and logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from sqlalchemy.exc import InterfaceError, OperationalError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult

from kai.db import database_unavailable
from kai.errors import ErrorCode, KaiError

# The database being down is a service outage, not a bug.
UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def _unavailable(original: object) -> bool:
    """A backing service is away: UNAVAILABLE, or the database's other ways of saying so
    (a connection cut mid-statement, PostgreSQL shutting down or starting up)."""
    return isinstance(original, UNAVAILABLE) or (
        isinstance(original, BaseException) and database_unavailable(original)
    )


log = logging.getLogger("kai.errors")

MASKED_MESSAGE = "Internal server error."


class ErrorCodes(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            self._validation_failed = True

    def on_operation(self) -> Iterator[None]:
        self._validation_failed = False
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        result.errors = [self._coded(error) for error in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # A subscription's results leave one by one, long before on_operation ends.
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [self._coded(error) for error in result.errors]
        yield

    def _coded(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, KaiError):
            return _with_code(error, original.message, original.as_extensions())
        if original is None and (error.extensions or {}).get("code"):
            return error
        if self.execution_context.graphql_document is None:
            return _with_code(error, error.message, {"code": ErrorCode.GRAPHQL_PARSE_FAILED})
        if self._validation_failed:
            return _with_code(error, error.message, {"code": ErrorCode.GRAPHQL_VALIDATION_FAILED})
        if isinstance(original, InvalidOperationTypeError):
            # An operation this transport does not run (legacy graphql-ws: subscriptions only).
            return _with_code(error, error.message, {"code": ErrorCode.BAD_USER_INPUT})
        if not error.path and (original is None or isinstance(original, GraphQLError)):
            # Raised before execution: a variable that does not fit its type.
            return _with_code(error, error.message, {"code": ErrorCode.BAD_USER_INPUT})
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        if _unavailable(original):
            log.warning("backing service unavailable (request %s): %r", request_id, original)
        else:
            log.error(
                "unexpected error in %s (request %s): %s",
                ".".join(str(p) for p in error.path or ()) or "operation",
                request_id,
                error.message,
                exc_info=original if isinstance(original, BaseException) else None,
            )
        message, extensions = masked(original, request_id)
        return _with_code(error, message, extensions, drop_original=True)


def masked(original: object, request_id: str | None) -> tuple[str, dict[str, Any]]:
    """What a client learns of an unexpected failure: a code, never its details."""
    if _unavailable(original):
        return "A backing service is unavailable; retry shortly.", {
            "code": ErrorCode.SERVICE_UNAVAILABLE
        }
    extensions: dict[str, Any] = {"code": ErrorCode.INTERNAL_SERVER_ERROR}
    if request_id:
        extensions["requestId"] = request_id
    return MASKED_MESSAGE, extensions


def _with_code(
    error: GraphQLError,
    message: str,
    extensions: dict[str, Any],
    *,
    drop_original: bool = False,
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None if drop_original else error.original_error,
        extensions={
            key: str(value) if isinstance(value, ErrorCode) else value
            for key, value in extensions.items()
        },
    )
