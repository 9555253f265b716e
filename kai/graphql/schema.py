"""The root Query and Mutation, made of each area's fields, and the schema built from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import (
    GraphQLDefaultInput,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from kai.graphql.event_projection import ProjectingExecutor
from kai.graphql.extensions.error_codes import ErrorCodes
from kai.graphql.extensions.input_text import RefuseNulText
from kai.graphql.extensions.operation_choice import RequireOperationName
from kai.graphql.operation_streams import OPEN as OPEN_STREAMS
from kai.graphql.strawberry_seams import SchemaSeams, socket_operation_extensions
from kai.resolvers.agent import AgentMutation, AgentQuery, AgentSubscription
from kai.resolvers.api_key import ApiKeyMutation, ApiKeyQuery
from kai.resolvers.approval import ApprovalMutation, ApprovalQuery, ApprovalSubscription
from kai.resolvers.audit import AuditQuery
from kai.resolvers.auth import AuthMutation, AuthQuery
from kai.resolvers.file import FileMutation, FileQuery
from kai.resolvers.node import NodeQuery
from kai.resolvers.remote import RemoteMutation, RemoteSubscription
from kai.resolvers.schedule import ScheduleMutation, ScheduleQuery
from kai.resolvers.system import SystemQuery
from kai.resolvers.task import TaskMutation, TaskQuery, TaskSubscription
from kai.resolvers.thread import ThreadMutation, ThreadQuery, ThreadSubscription
from kai.resolvers.user import UserMutation, UserQuery
from kai.resolvers.webhook import WebhookMutation, WebhookQuery
from kai.schema.agent import Agent
from kai.schema.api_key import ApiKey
from kai.schema.audit import AuditEntry
from kai.schema.datetime_scalar import DATETIME_SCALAR
from kai.schema.error_code import ErrorCode
from kai.schema.file import File
from kai.schema.json_scalar import JSON_SCALAR
from kai.schema.task import Task
from kai.schema.user import User


@strawberry.type(description="Everything a client can read.")
class Query(
    AuthQuery,
    ApiKeyQuery,
    UserQuery,
    AuditQuery,
    AgentQuery,
    TaskQuery,
    ScheduleQuery,
    ApprovalQuery,
    WebhookQuery,
    ThreadQuery,
    FileQuery,
    SystemQuery,
    NodeQuery,
):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    AuthMutation,
    ApiKeyMutation,
    UserMutation,
    AgentMutation,
    RemoteMutation,
    TaskMutation,
    ScheduleMutation,
    ApprovalMutation,
    WebhookMutation,
    ThreadMutation,
    FileMutation,
):
    pass


@strawberry.type(description="Everything a client can follow live, over WebSocket.")
class Subscription(
    AgentSubscription,
    RemoteSubscription,
    TaskSubscription,
    ThreadSubscription,
    ApprovalSubscription,
):
    pass


class KaiSchema(SchemaSeams):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _object_defaults_as_literals(self.graphql_core_schema)

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        # `execute` cannot run a subscription (its resolver yields): one sent over
        # HTTP answered INTERNAL_SERVER_ERROR. Subscriptions run over WebSocket,
        # through `stream`; refused here, HTTP answers 400 with a code.
        allowed = kwargs.get("allowed_operation_types") or DEFAULT_ALLOWED_OPERATION_TYPES
        kwargs["allowed_operation_types"] = set(allowed) - {OperationType.SUBSCRIPTION}
        return await super().execute(*args, **kwargs)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("operation_extensions") is None:  # graphql-transport-ws passes none
            kwargs["operation_extensions"] = socket_operation_extensions()
        # Every operation stream is counted until its transport closes it.
        return OPEN_STREAMS.add(await super().stream(*args, **kwargs))

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors are answers, not incidents; the ErrorCodes extension
        # logs the unexpected ones, with the request id, before masking them.
        return


def _object_defaults_as_literals(schema: GraphQLSchema) -> None:
    """Introspection writes each default value as a literal with graphql-core's
    legacy ast_from_value, which cannot write an object for a custom scalar
    (`params: JSON = {}`): the whole introspection query failed. graphql-core
    writes a `default` given as an external value (GraphQLDefaultInput) itself."""
    for named in schema.type_map.values():
        values: list[Any] = []
        if isinstance(named, GraphQLInputObjectType):
            values.extend(named.fields.values())
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            for field in named.fields.values():
                values.extend(field.args.values())
        for value in values:
            if value.default is None and isinstance(value.default_value, dict):
                value.default = GraphQLDefaultInput(value.default_value)


# Types reachable only through the Node interface must be named to the schema.
NODE_TYPES = [User, ApiKey, AuditEntry, Agent, Task, File]
# Named by no field, but part of the contract: what `extensions.code` can be.
ERROR_CODES = [ErrorCode]


def build_schema(
    *,
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    observers: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    suggestions: bool = True,
) -> strawberry.Schema:
    """`observers` wrap everything, error coding included (metrics, traces)."""
    return KaiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*NODE_TYPES, *ERROR_CODES],
        extensions=[*observers, ErrorCodes, RefuseNulText, RequireOperationName, *extensions],
        scalar_overrides={JSON: JSON_SCALAR, datetime: DATETIME_SCALAR},
        config=StrawberryConfig(disable_field_suggestions=not suggestions),
        # Subscription events with plain selections are projected, not executed per field.
        execution_context_class=ProjectingExecutor,
    )


def schema_sdl() -> str:
    """What `kai export-schema` prints and graphql.schema holds."""
    return build_schema().as_str() + "\n"
