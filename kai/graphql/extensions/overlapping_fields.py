"""graphql-core's OverlappingFieldsCanBeMergedRule, run last and with its work counted (C2).

The rule compares, pair by pair, the fields of a selection set that share a response
name, and their sub-selections with them: work that grows with the square of the
repeats. A 5 KB document of repeated fields held the event loop for over a second, and
it ran even for documents that the cheap limits refused. Here it runs only for a
document within every other limit (kai.graphql.extensions.limits calls it last), and
each comparison of two fields (graphql-core's `find_conflict`, which recurses through
sub-selections) is counted: past COMPARISONS_PER_TOKEN times the token limit the
document is refused QUERY_TOO_COMPLEX. Tools' introspection query makes no comparison;
documents that spread overlapping fragments make a handful.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.rules import overlapping_fields_can_be_merged as _rule

from kai.graphql.visits import TooMuchWork, Visits

# What kAI wraps in graphql-core, as "module:attribute" (a module-level function): every
# comparison the rule makes goes through it. tests/test_library_seams.py watches it.
SEAMS = ("graphql.validation.rules.overlapping_fields_can_be_merged:find_conflict",)

COMPARISONS_PER_TOKEN = 5

_comparisons: contextvars.ContextVar[Visits | None] = contextvars.ContextVar(
    "overlap_comparisons", default=None
)


def _install() -> None:
    original = _rule.find_conflict
    if getattr(original, "_kai_counted", False):
        return

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        visits = _comparisons.get()
        if visits is not None:
            visits.step()
        return original(*args, **kwargs)

    counted._kai_counted = True  # type: ignore[attr-defined]
    _rule.find_conflict = counted


_install()


def overlap_errors(
    schema: GraphQLSchema, document: DocumentNode, max_tokens: int
) -> list[GraphQLError]:
    """The rule's errors for `document`, or QUERY_TOO_COMPLEX past the comparison budget."""
    budget = Visits(COMPARISONS_PER_TOKEN * max_tokens)
    token = _comparisons.set(budget)
    try:
        return validate(schema, document, [OverlappingFieldsCanBeMergedRule])
    except TooMuchWork:
        return [
            GraphQLError(
                f"The document repeats fields too often to check that they merge (more than "
                f"{budget.budget} comparisons); send fewer repeated fields.",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            )
        ]
    finally:
        _comparisons.reset(token)
