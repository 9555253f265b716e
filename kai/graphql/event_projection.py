"""Subscription events without per-field execution, for the plain selections clients make.

graphql-core executes a subscription's selection set once per event per subscriber: with
5,000 subscribers of one agent, every event ran the same selection 5,000 times, a resolver
call and an awaitable check per field, which was most of the server's time (the fan-out
figures in docs/performance.md).

Most subscriptions select scalars and enums of the event (`agentEvents { seq type data
timestamp }`), which Strawberry answers with its default resolvers: an attribute read,
then the type's `serialize`. For those, `ProjectingExecutor` compiles the selection once per
subscription (aliases, `__typename`, fragments, `@skip` and `@include` with the
operation's variables) into a `Projection`, and builds each event's result directly from
the same attributes with the same serializers. Subscriptions of the same shape share the
result of one event: it is computed once, for the first of them, and the others get the
same object, and the transports send the same JSON text of it, serialized once
(kai.graphql.shared_results).

Anything else runs graphql-core's execution, as before: a field with a resolver of its
own or arguments, an object or a list, other directives, resolver middleware; and an
event whose values do not fit (a null where the schema says non-null, a value the
serializer refuses), so that errors read exactly as graphql-core writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.execution import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from kai.graphql.shared_results import SHARED

# What this module relies on beyond documented APIs (tests/test_library_seams.py checks
# each against the source it was written for): Strawberry marks the resolver of a field
# without one of its own `_is_default`, in from_resolver; graphql-core runs each event
# through build_per_event_executor, then the copy's execute_operation.
SEAMS = (
    "strawberry.schema.schema_converter:GraphQLCoreConverter.from_resolver",
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
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        projection = self._projection
        if projection is not None:
            event = self.root_value
            try:
                return ExecutionResult(data=SHARED.get(projection, event))
            except _DoesNotFit:
                pass
        return super().execute_operation(serially)


def compile_projection(executor: Any) -> Projection | None:
    """The projection of the subscription `executor` runs, or None when it needs execution."""
    manager = executor.middleware_manager
    if manager is not None and manager.middlewares:  # resolvers wrapped: they must run
        return None
    schema = executor.schema
    operation = executor.operation
    root_type = schema.subscription_type
    if root_type is None or operation.operation.value != "subscription":
        return None
    variables = executor.variable_values.coerced
    fragments = executor.fragment_definitions
    try:
        roots = list(_selected(operation.selection_set, root_type, fragments, variables))
        if len(roots) != 1:
            return None
        root = roots[0]
        root_field = root_type.fields.get(root.name.value)
        if root_field is None or root.name.value.startswith("__"):
            return None
        root_non_null = isinstance(root_field.type, GraphQLNonNull)
        named = _unwrap(root_field.type)
        if not isinstance(named, GraphQLObjectType) or root.selection_set is None:
            return None
        leaves = tuple(_leaves(root.selection_set, named, fragments, variables))
    except _Unsupported:
        return None
    root_key = _key(root)
    # Equal for two subscriptions that read the same fields under the same keys.
    shape = (root_key, named.name, root_non_null, tuple((leaf.key, leaf.name) for leaf in leaves))
    return Projection(root_key, named.name, leaves, root_non_null, shape)


class _Unsupported(Exception):
    """A selection the projection does not do: graphql-core executes it."""


def _leaves(
    selection_set: SelectionSetNode,
    object_type: GraphQLObjectType,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> Iterator[_Leaf]:
    seen: set[str] = set()
    for node in _selected(selection_set, object_type, fragments, variables):
        key = _key(node)
        if key in seen:  # merged with the first (validation made them the same field)
            continue
        seen.add(key)
        name = node.name.value
        if name == "__typename":
            yield _Leaf(key, name, None, str, True)
            continue
        field = object_type.fields.get(name)
        if field is None or node.arguments or node.selection_set is not None:
            raise _Unsupported
        yield _leaf(key, name, field)


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


def _selected(
    selection_set: SelectionSetNode,
    object_type: GraphQLObjectType,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    expanded: set[str] | None = None,
) -> Iterator[FieldNode]:
    """The fields of `selection_set` on `object_type`, through fragments, in order, as
    `@skip` and `@include` leave them. Each named fragment is expanded once, as graphql-core
    collects fields (a spread met again adds nothing, and a chain of fragments each spread
    twice stays linear)."""
    expanded = set() if expanded is None else expanded
    for node in selection_set.selections:
        if not _included(node, variables):
            continue
        if isinstance(node, FieldNode):
            yield node
        elif isinstance(node, InlineFragmentNode):
            if node.type_condition is None or _applies(node.type_condition.name.value, object_type):
                yield from _selected(
                    node.selection_set, object_type, fragments, variables, expanded
                )
        elif isinstance(node, FragmentSpreadNode):
            if getattr(node, "arguments", None):
                raise _Unsupported  # fragment arguments (an experimental feature)
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is None:
                raise _Unsupported
            if name in expanded:
                continue
            expanded.add(name)
            if _applies(fragment.type_condition.name.value, object_type):
                yield from _selected(
                    fragment.selection_set, object_type, fragments, variables, expanded
                )
        else:
            raise _Unsupported


def _applies(condition: str, object_type: GraphQLObjectType) -> bool:
    return condition == object_type.name or any(
        interface.name == condition for interface in object_type.interfaces
    )


def _included(node: Any, variables: dict[str, Any]) -> bool:
    include = True
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            raise _Unsupported  # @defer, @stream, or one of a later kind
        condition = _condition(directive, variables)
        if name == "skip" and condition:
            return False
        if name == "include" and not condition:
            include = False
    return include


def _condition(directive: Any, variables: dict[str, Any]) -> bool:
    for argument in directive.arguments:
        if argument.name.value != "if":
            continue
        value = argument.value
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, VariableNode):
            found = variables.get(value.name.value)
            if isinstance(found, bool):
                return found
        raise _Unsupported
    raise _Unsupported


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _unwrap(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_
