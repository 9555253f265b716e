"""A document with several operations runs only the one the request names.

The GraphQL specification makes it a request error to send several operations without
`operationName`; Strawberry ran the first one instead, so a client that forgot the name
ran whatever came first, a mutation included.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from kai.errors import BadUserInput
from kai.graphql.strawberry_seams import requested_operation_name

MESSAGE = "The document has several operations: name the one to run in operationName."


class RequireOperationName(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and requested_operation_name(context) is None:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                refusal = BadUserInput(MESSAGE, field="operationName")
                # Set before validation runs: Strawberry then answers with it and runs nothing.
                context.pre_execution_errors = [
                    GraphQLError(MESSAGE, extensions=refusal.as_extensions())
                ]
        yield
