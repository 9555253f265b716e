"""Rate limits per operation family, counted per root field, decided before any resolver runs.

Families: `query`, `mutation`, `subscribe` (each subscribe over WebSocket),
`upload` (`uploadFile`) and `agent` (what a remote agent's process sends back:
replies, stream chunks, task progress, heartbeats, logs). The sign-in mutations
(`auth`) are throttled by their resolvers (Context.throttle, A8) and not here.

A request is counted against its principal (the user of a session, or the API
key) and, when anonymous, against its client IP. Credentials that do not work
are counted against the IP too (then answered UNAUTHENTICATED by the resolvers
as usual), so spraying tokens is limited like any anonymous traffic.

Each root field (response key) costs one: ten aliases cost ten. The whole cost
of an operation is checked and charged in one step, all families at once; when
any bucket lacks room the operation is refused with RATE_LIMITED and nothing
runs. The check sits in `on_execute`, after parsing and validation and before
execution, for HTTP and WebSocket alike. A document refused before it runs (it does
not parse or validate) costs one request of the query family: parsing and validating
it was work too, and free refusals let anyone make the server do it without end.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language import OperationType as AstOperationType
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from kai.config import Settings
from kai.context import Context
from kai.errors import KaiError, RateLimited
from kai.graphql.visits import TooMuchWork, Visits
from kai.observability import metrics
from kai.security.principal import Principal
from kai.security.rate_limit import Bucket

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0

# Throttled in their resolvers, per IP and per account (A8).
AUTH_FIELDS = frozenset(
    {"login", "register", "requestMagicLink", "verifyMagicLink", "refreshToken"}
)
UPLOAD_FIELDS = frozenset({"uploadFile"})
# A remote agent's process answers the work it was given: one mutation per streamed chunk.
AGENT_FIELDS = frozenset(
    {"agentReply", "agentStreamChunk", "agentTaskProgress", "agentHeartbeat", "agentLog"}
)


def family_limits(settings: Settings) -> dict[str, int]:
    """Root fields per minute, per principal, of each family (0: unlimited)."""
    return {
        "query": settings.rate_limit_query_per_minute,
        "mutation": settings.rate_limit_mutation_per_minute,
        "subscribe": settings.rate_limit_subscribe_per_minute,
        "upload": settings.rate_limit_upload_per_minute,
        "agent": settings.rate_limit_agent_per_minute,
    }


def root_fields(
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    visits: Visits | None = None,
) -> tuple[AstOperationType, list[str]] | None:
    """The operation's type and the field name of each root response key (aliases apart).

    Each fragment is walked once, however often it is spread: a fragment's root fields are
    the same wherever it stands. (Walked at every spread, a chain of fragments each
    spreading the next twice cost twice as much per link: 1.3 KB froze the server.)
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    values = _variable_values(operation, variables or {})
    counted = visits or Visits()
    fields: dict[str, str] = {}
    walked: set[str] = set()

    def visit(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            counted.step()
            if not _included(selection, values):
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                fields.setdefault(key, selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in walked:
                    walked.add(name)
                    visit(fragment.selection_set)

    visit(operation.selection_set)
    return operation.operation, list(fields.values())


def _variable_values(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in variables:
            values[name] = variables[name]
        elif isinstance(definition.default_value, BooleanValueNode):
            values[name] = definition.default_value.value
    return values


def _included(selection: Any, values: Mapping[str, Any]) -> bool:
    """@skip / @include; when in doubt the field counts (it may run)."""
    for directive in selection.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition: bool | None = None
        for argument in directive.arguments or ():
            if argument.name.value != "if":
                continue
            if isinstance(argument.value, BooleanValueNode):
                condition = argument.value.value
            elif isinstance(argument.value, VariableNode):
                value = values.get(argument.value.name.value)
                condition = value if isinstance(value, bool) else None
        if condition is None:
            continue
        if (name == "skip" and condition) or (name == "include" and not condition):
            return False
    return True


def family_of(operation: AstOperationType, field: str) -> str | None:
    if operation is AstOperationType.SUBSCRIPTION:
        return "subscribe"
    if operation is AstOperationType.QUERY:
        return "query"
    if field in AUTH_FIELDS:
        return None
    if field in UPLOAD_FIELDS:
        return "upload"
    if field in AGENT_FIELDS:
        return "agent"
    return "mutation"


def subject_of(principal: Principal | None, client_ip: str | None) -> str:
    """Whose budget: the API key, the user (all their sessions), or the client IP."""
    if principal is None:
        return f"ip:{client_ip or 'unknown'}"
    if principal.api_key_id:
        return f"key:{principal.api_key_id}"
    return f"user:{principal.user_id}"


async def _principal(context: Context) -> Principal | None:
    """The caller; None for anonymous calls and for credentials that do not work."""
    try:
        return await context.optional_principal()
    except Exception:  # the resolvers answer UNAUTHENTICATED (or the outage) as usual
        return None


def buckets_for(
    settings: Settings, costs: Mapping[str, int], principal: Principal | None, client_ip: str | None
) -> list[Bucket]:
    subject = subject_of(principal, client_ip)
    limits = family_limits(settings)
    buckets = []
    for family, cost in sorted(costs.items()):
        limit = limits[family] if principal else settings.rate_limit_anonymous_per_minute
        buckets.append(Bucket(f"{family}:{subject}", limit, WINDOW_SECONDS, cost))
    return buckets


class RateLimits(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.graphql_document is None:  # it did not parse
            await self._charge_refused()

    async def on_validate(self) -> AsyncIterator[None]:
        yield
        if self.execution_context.pre_execution_errors:  # it did not validate
            await self._charge_refused()

    async def _charge_refused(self) -> None:
        """A document refused before it runs costs one request of the query family, as a
        query does (docs/security.md C2): otherwise invalid documents, each costing a parse
        and a validation, were free. Past the budget, the refusal says RATE_LIMITED."""
        execution = self.execution_context
        context = execution.context
        if not isinstance(context, Context):
            return
        principal = await _principal(context)
        buckets = buckets_for(context.services.settings, {"query": 1}, principal, context.client_ip)
        wait = await context.services.rate_limiter.hit_all(buckets)
        if wait > 0:
            metrics.RATE_LIMITED.labels("query").inc()
            limited = RateLimited(wait)
            refusal = GraphQLError(limited.message, extensions=limited.as_extensions())
            # In place: Strawberry has already put this list in the result it will send.
            if execution.pre_execution_errors is None:
                execution.pre_execution_errors = [refusal]
            else:
                execution.pre_execution_errors[:] = [refusal]

    async def on_execute(self) -> AsyncIterator[None]:
        refusal = await self._check()
        if refusal is not None:
            operation, error = refusal
            if operation is AstOperationType.SUBSCRIPTION:
                # Strawberry sends it as the subscription's error (ErrorCodes codes it).
                raise error
            # A result already there is what Strawberry answers, without executing anything.
            self.execution_context.result = ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield

    async def _check(self) -> tuple[AstOperationType, KaiError] | None:
        execution = self.execution_context
        context = execution.context
        if not isinstance(context, Context) or execution.graphql_document is None:
            return None
        budget = Visits.for_tokens(context.services.settings.max_query_tokens)
        try:
            found = root_fields(
                execution.graphql_document, execution.operation_name, execution.variables, budget
            )
        except TooMuchWork as exc:
            refused = get_operation_ast(execution.graphql_document, execution.operation_name)
            return (refused.operation if refused else AstOperationType.QUERY), exc
        if found is None:
            return None
        operation, fields = found
        costs = Counter(
            family for field in fields if (family := family_of(operation, field)) is not None
        )
        if not costs:
            return None
        principal = await _principal(context)
        buckets = buckets_for(context.services.settings, costs, principal, context.client_ip)
        wait = await context.services.rate_limiter.hit_all(buckets)
        if wait <= 0:
            return None
        log.debug("rate limited: %s", ", ".join(f"{b.key} x{b.cost}" for b in buckets))
        for family in costs:
            metrics.RATE_LIMITED.labels(family).inc()
        return operation, RateLimited(wait)
