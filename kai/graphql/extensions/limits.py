"""Limits on every GraphQL document, over HTTP and WebSocket alike (G1-G3, W4).

A document over a limit is refused while it is parsed (tokens) or validated
(depth, aliases, the shape of introspection), so no resolver of it ever runs,
and every refusal answers QUERY_TOO_COMPLEX with a message naming the limit.

- Tokens (G3): graphql-core's parser stops at the limit, so an oversized
  document costs no more than the limit to reject. Comments are not tokens;
  they are capped at the same number separately.
- Depth (G1): the number of fields along the longest path, the leaf included
  (`{ me { id } }` is 2 deep), fragments expanded. Introspection (`__schema`,
  `__type` and what is under them) does not count: tools' standard
  introspection query nests `ofType` deeper than any sensible limit.
- Introspection is bounded on its own instead: along one path no field may
  appear twice (except `ofType`, at most MAX_OF_TYPE deep), at most
  MAX_INTROSPECTION_LISTS of the lists `fields`, `interfaces`, `possibleTypes`
  and `inputFields` nest, and the introspection selection, its fragments
  expanded, has at most MAX_INTROSPECTION_SELECTIONS selections. That refuses
  the "circular introspection" attack (`types { fields { type { fields { type
  ... } } } }`) and lets every tool's standard introspection query through.
  It replaces graphql-core's MaxIntrospectionDepthRule, whose refusal carries
  no code and no limit.
- Aliases (G2): every aliased field in the operations of the document, a
  fragment counted each time it is spread (so fragments cannot hide aliases).

Every walk over fragments is memoised or budgeted, so a document that spreads
fragments into fragments many times over costs time linear in its size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.error import GraphQLSyntaxError
from graphql.validation import MaxIntrospectionDepthRule, OverlappingFieldsCanBeMergedRule
from strawberry.extensions import SchemaExtension

from kai.errors import ErrorCode
from kai.graphql.extensions.overlapping_fields import overlap_errors
from kai.graphql.visits import TooMuchWork, Visits

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# graphql-core's get_introspection_query() nests ofType 9 deep; GraphiQL's, 7.
MAX_OF_TYPE = 10
INTROSPECTION_LISTS = frozenset({"fields", "interfaces", "possibleTypes", "inputFields"})
# As graphql-core's MaxIntrospectionDepthRule: e.g. `types { fields { type { interfaces` is fine.
MAX_INTROSPECTION_LISTS = 2
# The standard introspection query expands to a few hundred selections.
MAX_INTROSPECTION_SELECTIONS = 2000

MANY = 10_000

# graphql-core's messages for its parser limits (max_lexical_tokens, max_comments).
_PARSER_LIMIT = re.compile(r"Document contains more than (\d+) (tokens|comments)\.")


def too_complex(message: str, nodes: Node | list[Node] | None = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_tokens: int

    def extension(self) -> SchemaExtension:
        """A fresh extension for one operation (Strawberry calls this per operation)."""
        return QueryLimitsExtension(self)


class QueryLimitsExtension(SchemaExtension):
    def __init__(self, limits: QueryLimits):
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        # ParseOptions declares only the deprecated max_tokens (which counts comments too).
        options = cast(dict[str, Any], context.parse_options)
        options["max_lexical_tokens"] = self.limits.max_tokens
        options["max_comments"] = self.limits.max_tokens
        # The overlapping-fields rule runs from the limits' rule instead, last and counted.
        replaced = (MaxIntrospectionDepthRule, OverlappingFieldsCanBeMergedRule)
        context.validation_rules = (
            *(rule for rule in context.validation_rules if rule not in replaced),
            _rule_for(self.limits),
        )
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        # The parser's refusal is a syntax error without a code: give it the limit's code,
        # in place, as Strawberry has already put it in the result it will send.
        context = self.execution_context
        if context.graphql_document is not None:
            return
        for error in context.pre_execution_errors or ():
            match = _PARSER_LIMIT.search(error.message)
            if isinstance(error, GraphQLSyntaxError) and match:
                limit, what = int(match.group(1)), match.group(2)
                error.message = f"The document has more than {limit} {what}; the limit is {limit}."
                error.extensions = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}


_RULES: dict[QueryLimits, type[ValidationRule]] = {}


def _rule_for(limits: QueryLimits) -> type[ValidationRule]:
    rule = _RULES.get(limits)
    if rule is None:
        rule = _RULES[limits] = _make_rule(limits)
    return rule


def _make_rule(limits: QueryLimits) -> type[ValidationRule]:
    class QueryLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            try:
                errors = check_document(node, limits, Visits.for_tokens(limits.max_tokens))
            except RecursionError:
                errors = [too_complex("The document nests fragments too deeply.")]
            except TooMuchWork as exc:
                errors = [too_complex(exc.message)]
            if not errors:  # within every cheap limit: only then the costly rule (C2)
                errors = overlap_errors(self.context.schema, node, limits.max_tokens)
            for error in errors:
                self.report_error(error)

    return QueryLimitsRule


def check_document(
    document: DocumentNode, limits: QueryLimits, visits: Visits | None = None
) -> list[GraphQLError]:
    """Every limit `document` exceeds, as QUERY_TOO_COMPLEX errors (none: within limits)."""
    walk = _Walk(document, visits or Visits())
    errors: list[GraphQLError] = []
    aliases = 0
    for operation in walk.operations:
        depth = walk.depth(operation.selection_set)
        if depth > limits.max_depth:
            name = f"Operation '{operation.name.value}'" if operation.name else "The operation"
            errors.append(
                too_complex(
                    f"{name} is {depth} fields deep; the depth limit is {limits.max_depth}.",
                    operation,
                )
            )
        aliases += walk.aliases(operation.selection_set)
    if aliases > limits.max_aliases:
        # Fragments spread within fragments multiply: say "many", not a 60-digit number.
        count = str(aliases) if aliases <= MANY else f"over {MANY}"
        errors.append(
            too_complex(
                f"The document uses {count} aliases (each fragment counted where it is "
                f"spread); the alias limit is {limits.max_aliases}."
            )
        )
    introspection = _IntrospectionWalk(walk.fragments, walk.visits)
    for root in walk.introspection_roots:
        error = introspection.check(root)
        if error is not None:
            errors.append(error)
            break
    return errors


class _Walk:
    """Depth and alias counts of selection sets, each fragment's computed once."""

    def __init__(self, document: DocumentNode, visits: Visits):
        self.visits = visits
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        # Found while measuring depth: each node once, however often its fragment is spread.
        self.introspection_roots: list[FieldNode] = []
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        # Fragments being measured: a cycle (refused by NoFragmentCyclesRule) counts nothing.
        self._open: set[str] = set()

    def _fragment(self, spread: FragmentSpreadNode) -> FragmentDefinitionNode | None:
        name = spread.name.value
        if name in self._open:
            return None
        return self.fragments.get(name)  # unknown: KnownFragmentNamesRule says so

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            self.visits.step()
            if isinstance(selection, FieldNode):
                if selection.name.value in INTROSPECTION_ROOTS:
                    self.introspection_roots.append(selection)
                    continue
                deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection))
        return deepest

    def _fragment_depth(self, spread: FragmentSpreadNode) -> int:
        name = spread.name.value
        if name not in self._depths:
            fragment = self._fragment(spread)
            if fragment is None:
                return 0
            self._open.add(name)
            try:
                self._depths[name] = self.depth(fragment.selection_set)
            finally:
                self._open.discard(name)
        return self._depths[name]

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        count = 0
        for selection in selection_set.selections if selection_set else ():
            self.visits.step()
            if isinstance(selection, FieldNode):
                count += (selection.alias is not None) + self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self._fragment_aliases(selection)
        return count

    def _fragment_aliases(self, spread: FragmentSpreadNode) -> int:
        name = spread.name.value
        if name not in self._aliases:
            fragment = self._fragment(spread)
            if fragment is None:
                return 0
            self._open.add(name)
            try:
                self._aliases[name] = self.aliases(fragment.selection_set)
            finally:
                self._open.discard(name)
        return self._aliases[name]


class _IntrospectionLimit(Exception):
    def __init__(self, error: GraphQLError):
        self.error = error


class _IntrospectionWalk:
    """The shape of introspection selections, path by path, within a budget of selections
    (fragments are expanded where they are spread: the budget bounds the work)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], visits: Visits):
        self.fragments = fragments
        self.visits = visits
        self.budget = MAX_INTROSPECTION_SELECTIONS

    def check(self, root: FieldNode) -> GraphQLError | None:
        try:
            self._field(root, (), 0, 0, frozenset())
        except _IntrospectionLimit as refusal:
            return refusal.error
        return None

    def _field(
        self,
        field: FieldNode,
        path: tuple[str, ...],
        of_type: int,
        lists: int,
        spreads: frozenset[str],
    ) -> None:
        name = field.name.value
        if name == "ofType":
            of_type += 1
            if of_type > MAX_OF_TYPE:
                raise _IntrospectionLimit(
                    too_complex(
                        f"Introspection nests 'ofType' {of_type} deep; the limit is {MAX_OF_TYPE}.",
                        field,
                    )
                )
        else:
            if name in path:
                raise _IntrospectionLimit(
                    too_complex(
                        f"Introspection selects '{name}' inside '{name}' (circular "
                        "introspection); along one path each introspection field may appear "
                        "once, 'ofType' excepted.",
                        field,
                    )
                )
            path = (*path, name)
        if name in INTROSPECTION_LISTS:
            lists += 1
            if lists > MAX_INTROSPECTION_LISTS:
                raise _IntrospectionLimit(
                    too_complex(
                        "Introspection nests the lists fields, interfaces, possibleTypes and "
                        f"inputFields {lists} deep; the limit is {MAX_INTROSPECTION_LISTS}.",
                        field,
                    )
                )
        self._selections(field.selection_set, path, of_type, lists, spreads)

    def _selections(
        self,
        selection_set: SelectionSetNode | None,
        path: tuple[str, ...],
        of_type: int,
        lists: int,
        spreads: frozenset[str],
    ) -> None:
        for selection in selection_set.selections if selection_set else ():
            self.visits.step()
            self.budget -= 1
            if self.budget < 0:
                raise _IntrospectionLimit(
                    too_complex(
                        "The introspection query has more than "
                        f"{MAX_INTROSPECTION_SELECTIONS} selections once its fragments are "
                        f"expanded; the limit is {MAX_INTROSPECTION_SELECTIONS}.",
                        selection,
                    )
                )
            if isinstance(selection, FieldNode):
                self._field(selection, path, of_type, lists, spreads)
            elif isinstance(selection, InlineFragmentNode):
                self._selections(selection.selection_set, path, of_type, lists, spreads)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in spreads:
                    self._selections(fragment.selection_set, path, of_type, lists, spreads | {name})
