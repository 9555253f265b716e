"""The root Query and Mutation, made of each area's fields, and the schema built from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from kai.resolvers.agent import AgentMutation, AgentQuery, AgentSubscription
from kai.resolvers.api_key import ApiKeyMutation, ApiKeyQuery
from kai.resolvers.audit import AuditQuery
from kai.resolvers.auth import AuthMutation, AuthQuery
from kai.resolvers.file import FileMutation, FileQuery
from kai.resolvers.node import NodeQuery
from kai.resolvers.remote import RemoteMutation, RemoteSubscription
from kai.resolvers.task import TaskMutation, TaskQuery, TaskSubscription
from kai.resolvers.user import UserMutation, UserQuery
from kai.schema.agent import Agent
from kai.schema.api_key import ApiKey
from kai.schema.audit import AuditEntry
from kai.schema.extensions import ErrorCodes
from kai.schema.file import File
from kai.schema.task import Task
from kai.schema.user import User


@strawberry.type(description="Everything a client can read.")
class Query(
    AuthQuery, ApiKeyQuery, UserQuery, AuditQuery, AgentQuery, TaskQuery, FileQuery, NodeQuery
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
    FileMutation,
):
    pass


@strawberry.type(description="Everything a client can follow live, over WebSocket.")
class Subscription(AgentSubscription, RemoteSubscription, TaskSubscription):
    pass


class KaiSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors are answers, not incidents; the ErrorCodes extension
        # logs the unexpected ones, with the request id, before masking them.
        return


# Types reachable only through the Node interface must be named to the schema.
NODE_TYPES = [User, ApiKey, AuditEntry, Agent, Task, File]


def build_schema(
    *,
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    suggestions: bool = True,
) -> strawberry.Schema:
    return KaiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=[ErrorCodes, *extensions],
        config=StrawberryConfig(disable_field_suggestions=not suggestions),
    )


def schema_sdl() -> str:
    """What `kai export-schema` prints and graphql.schema holds."""
    return build_schema().as_str() + "\n"
