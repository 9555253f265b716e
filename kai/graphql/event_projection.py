"""Subscription events without per-field execution, for the plain selections clients make.

graphql-core executes a subscription's selection set once per event per subscriber: with
5,000 subscribers of one agent, every event ran the same selection 5,000 times, a resolver
call and an awaitable check per field, which was most of the server's time (the fan-out
figures in docs/performance.md).

Most subscriptions select scalars and enums of the event (`agentEvents { seq type data
timestamp }`), which Strawberry answers with its default resolvers: an attribute read,
then the type's `serialize`. For those, `ProjectingExecutor` compiles the selection once
per subscription (the fields graphql-core's own collector picks: aliases, `__typename`,
fragments, `@skip` and `@include` with the operation's variables) into a `Projection`,
and builds each event's result directly from the same attributes with the same
serializers. Subscriptions of the same shape share the result of one event: it is
computed once, for the first of them, and the others get the same object, and the
transports send the same JSON text of it, serialized once (kai.graphql.shared_results).

Anything else runs graphql-core's execution, as before: a field with a resolver of its
own or arguments, an object or a list, other directives, resolver middleware; and an
event whose values do not fit (a null where the schema says non-null, a value the
serializer refuses), so that errors read exactly as graphql-core writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution import ExecutionResult
from graphql.execution.collect_fields import collect_fields, collect_subfields
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from kai.graphql.shared_results import SHARED
from kai.lru import LRU

# What this module relies on beyond documented APIs (tests/test_library_seams.py checks
# each against the source it was written for): Strawberry marks the resolver of a field
# without one of its own `_is_default`, in from_resolver; graphql-core runs each event
# through build_per_event_executor, then the copy's execute_operation; and its field
# collection ("for internal use only") picks the fields a projection reads.
SEAMS = (
    "strawberry.schema.schema_converter:GraphQLCoreConverter.from_resolver",
    "graphql.execution.collect_fields:collect_fields",
    "graphql.execution.collect_fields:collect_subfields",
    "graphql.execution.executor:Executor.build_per_event_executor",
    "graphql.execution.execute:map_source_to_response_event",
    "graphql.execution.execute:execute_subscription_event",
)


class _DoesNotFit(Exception):
    """This event's values need graphql-core's execution (an error to report)."""


@dataclass(frozen=True)
class _Leaf:
    key: str  # the response key (alias or name)
    name: str  # the field's name: with the type's name, what it reads and how
    read: Callable[[Any], Any] | None  # None for __typename
    serialize: Callable[[Any], Any]
    non_null: bool
    # A list of scalars: each item serialized (items non-null when the schema says so).
    listed: bool = False
    items_non_null: bool = False


@dataclass(frozen=True, eq=False)
class Projection:
    """One subscription's root field and the scalars it selects, compiled."""

    root_key: str
    type_name: str
    leaves: tuple[_Leaf, ...]
    root_non_null: bool
    # What makes two projections give the same result for the same event.
    shape: tuple[Any, ...]

    def result(self, event: Any) -> dict[str, Any]:
        """`{root_key: {...}}` for `event`; _DoesNotFit when graphql-core must say why not."""
        if event is None:
            if self.root_non_null:
                raise _DoesNotFit
            return {self.root_key: None}
        values: dict[str, Any] = {}
        for leaf in self.leaves:
            if leaf.read is None:
                values[leaf.key] = self.type_name
                continue
            values[leaf.key] = _value(leaf, leaf.read, event)
        return {self.root_key: values}


def _value(leaf: _Leaf, read: Callable[[Any], Any], event: Any) -> Any:
    try:
        raw = read(event)
    except Exception as exc:  # a failing read: graphql-core reports it
        raise _DoesNotFit from exc
    if raw is None:
        if leaf.non_null:
            raise _DoesNotFit
        return None
    try:
        if not leaf.listed:
            return leaf.serialize(raw)
        items: list[Any] = []
        for item in raw:
            if item is None:
                if leaf.items_non_null:
                    raise _DoesNotFit
                items.append(None)
            else:
                items.append(leaf.serialize(item))
        return items
    except _DoesNotFit:
        raise
    except Exception as exc:  # the serializer's refusal: graphql-core reports it
        raise _DoesNotFit from exc


class ProjectingExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with plain subscription events projected (module doc)."""

    # Compiled on the subscription's executor, copied to each event's.
    _projection: Projection | None = None
    _compiled = False

    def build_per_event_executor(self, payload: Any) -> Any:
        if not self._compiled:
            self._projection = compile_projection(self)
            self._compiled = True
        projection = self._projection
        if projection is not None:
            # A projected event needs none of the executor's copy that graphql-core makes
            # for each event (a tenth of an event's cost per subscriber): its result is
            # ready, and handed to execute_subscription_event as an "executor" of its own.
            try:
                return _Projected(ExecutionResult(data=SHARED.get(projection, payload)))
            except _DoesNotFit:
                pass
        return super().build_per_event_executor(payload)


class _Projected:
    """An event's projected result, in the place of its per-event executor."""

    __slots__ = ("_result",)

    def __init__(self, result: ExecutionResult) -> None:
        self._result = result

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return self._result


def compile_projection(executor: Any) -> Projection | None:
    """The projection of the subscription `executor` runs, or None when it needs execution.

    The fields are collected by graphql-core's own collector, as its execution collects
    them (aliases merged, fragments expanded once, `@skip` and `@include` by the
    operation's variables, type conditions), so a projection cannot pick other fields."""
    manager = executor.middleware_manager
    if manager is not None and manager.middlewares:  # resolvers wrapped: they must run
        return None
    schema = executor.schema
    operation = executor.operation
    root_type = schema.subscription_type
    if root_type is None or operation.operation.value != "subscription":
        return None
    try:
        roots = collect_fields(
            schema, executor.fragments, executor.variable_values, root_type, operation
        )
        if roots.new_defer_usages or len(roots.grouped_field_set) != 1:
            return None
        ((root_key, root_details),) = roots.grouped_field_set.items()
        root_field = root_type.fields.get(root_details[0].node.name.value)
        named = _unwrap(root_field.type) if root_field is not None else None
        if not isinstance(named, GraphQLObjectType):
            return None
        fields = collect_subfields(
            schema, executor.fragments, executor.variable_values, operation, named, root_details
        )
        if fields.new_defer_usages:
            return None
        leaves = tuple(
            _leaf_of(key, details, named) for key, details in fields.grouped_field_set.items()
        )
    except (_Unsupported, GraphQLError, RecursionError):
        return None
    assert root_field is not None
    root_non_null = isinstance(root_field.type, GraphQLNonNull)
    # Equal for two subscriptions that read the same fields under the same keys.
    shape = (root_key, named.name, root_non_null, tuple((leaf.key, leaf.name) for leaf in leaves))
    # One projection per shape, kept by every subscription of it: compiled per subscription,
    # the leaves and their readers were 2.6 KiB of each connection (docs/performance.md).
    known = _COMPILED.get(shape)
    if known is not None:
        return known
    projection = Projection(root_key, named.name, leaves, root_non_null, shape)
    _COMPILED.add(shape, projection)
    return projection


# Shapes in use at once: one per distinct selection clients subscribe with.
COMPILED_SHAPES = 1024
_COMPILED: LRU[tuple[Any, ...], Projection] = LRU(COMPILED_SHAPES)


class _Unsupported(Exception):
    """A selection the projection does not do: graphql-core executes it."""


def _leaf_of(key: str, details: Sequence[Any], object_type: GraphQLObjectType) -> _Leaf:
    """The leaf of one response key (its field nodes merged, as validation guarantees)."""
    nodes = [detail.node for detail in details]
    if any(detail.fragment_variable_values for detail in details) or any(
        directive.name.value not in ("skip", "include")
        for node in nodes
        for directive in node.directives or ()
    ):
        raise _Unsupported  # fragment arguments, @stream or a directive of a later kind
    node = nodes[0]
    name = node.name.value
    if name == "__typename":
        return _Leaf(key, name, None, str, True)
    field = object_type.fields.get(name)
    if field is None or node.arguments or node.selection_set is not None:
        raise _Unsupported
    return _leaf(key, name, field)


def _leaf(key: str, name: str, field: GraphQLField) -> _Leaf:
    read = _default_read(field)
    if read is None:
        raise _Unsupported
    type_: Any = field.type
    non_null = isinstance(type_, GraphQLNonNull)
    inner: Any = type_.of_type if non_null else type_
    listed = isinstance(inner, GraphQLList)
    items_non_null = False
    if listed:
        item: Any = inner.of_type
        items_non_null = isinstance(item, GraphQLNonNull)
        if isinstance(item.of_type if items_non_null else item, GraphQLList):
            raise _Unsupported  # lists of lists
    named = _unwrap(type_)
    if not isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        raise _Unsupported
    return _Leaf(key, name, read, named.serialize, non_null, listed, items_non_null)


def _default_read(field: GraphQLField) -> Callable[[Any], Any] | None:
    """How Strawberry's default resolver reads this field, if it has no resolver of its own
    (`_is_default`, which Strawberry sets on exactly those); else None."""
    if not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None:
        return None

    def read(source: Any) -> Any:
        return definition.get_result(source, info=None, args=[], kwargs={})

    return read


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_
