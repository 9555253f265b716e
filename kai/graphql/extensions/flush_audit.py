"""The operation's audit rows are written when it ends, whatever its outcome."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from kai.graphql.extensions.error_codes import masked


class FlushAudit(SchemaExtension):
    """Writes the operation's audit rows once it is over, whatever its outcome."""

    async def on_operation(self) -> Any:
        yield
        context = self.execution_context.context
        auditor = getattr(context, "auditor", None)
        if auditor is None:
            return
        try:
            await auditor.flush()
        except Exception as exc:
            # The auditor has logged it. Work whose audit is lost is not answered
            # as a success, and the database's error (SQL, parameters) stays in
            # the log: Strawberry would otherwise send str(exc) unmasked.
            message, extensions = masked(exc, getattr(context, "request_id", None))
            raise GraphQLError(
                message, extensions={key: str(value) for key, value in extensions.items()}
            ) from exc
