"""The work of analysing a document before it runs is linear in its size, for any document
(docs/security.md C1).

Documents are generated: chains and diamonds of fragments (each spreading later ones,
several times over), aliases, nested fields, @skip and @include. Work is counted in
selections visited (kai.graphql.visits), never timed. Walked at every spread, a chain
of fragments each spreading the next twice doubles the work per link: 1.3 KB of such a
document froze the server for minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor
from graphql.validation import OverlappingFieldsCanBeMergedRule
from hypothesis import given, settings
from hypothesis import strategies as st

from kai.graphql.extensions.limits import MAX_INTROSPECTION_SELECTIONS, QueryLimits, check_document
from kai.graphql.extensions.rate_limits import root_fields
from kai.graphql.visits import TooMuchWork, Visits
from tests.support.graphql_client import GraphQLClient

LIMITS = QueryLimits(max_depth=15, max_aliases=30, max_tokens=2000)
WALKS_PER_SELECTION = 2  # the limits look at each selection for depth, then for aliases
Draw = Callable[[st.SearchStrategy[Any]], Any]


@st.composite
def documents(draw: st.DrawFn) -> str:
    count = draw(st.integers(1, 24))
    fragments = []
    for index in range(count):
        later = list(range(index + 1, count))
        spreads = draw(st.lists(st.sampled_from(later), max_size=4)) if later else []
        fragments.append(f"fragment F{index} on Query {{ {_selections(draw, index, spreads)} }}")
    roots = draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=3))
    operation = "query Q { " + " ".join(f"...F{root}" for root in roots) + " me { id } }"
    return "\n".join([operation, *fragments])


def _selections(draw: Draw, index: int, spreads: list[int]) -> str:
    parts = [f"...F{target}" for target in spreads]
    for field in range(draw(st.integers(0, 3))):
        alias = f"a{index}_{field}: " if draw(st.booleans()) else ""
        directive = draw(st.sampled_from(["", " @skip(if: false)", " @include(if: true)"]))
        nested = draw(st.sampled_from(["", " { id }", " { ... on User { id email } }"]))
        parts.append(f"{alias}me{directive}{nested}")
    if spreads and draw(st.booleans()):  # a spread inside a field: depth as well as breadth
        parts.append(f"agents {{ ...F{spreads[0]} }}")
    return " ".join(parts) or "__typename"


class _Selections(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter(self, node: object, *_: object) -> None:
        if isinstance(node, FieldNode | FragmentSpreadNode | InlineFragmentNode):
            self.count += 1


def selections(document: DocumentNode) -> int:
    counter = _Selections()
    visit(document, counter)
    return counter.count


@settings(max_examples=300, deadline=None)
@given(documents())
def test_counting_root_fields_visits_each_selection_at_most_once(text: str) -> None:
    document = parse(text)
    # A budget just past the bound: a walk gone super-linear fails here, and fast.
    visits = Visits(budget=selections(document) + 1)
    root_fields(document, "Q", {}, visits)
    assert visits.count <= selections(document)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_checking_the_limits_is_linear_in_the_document(text: str) -> None:
    document = parse(text)
    bound = WALKS_PER_SELECTION * selections(document) + MAX_INTROSPECTION_SELECTIONS
    visits = Visits(budget=bound + 1)
    check_document(document, LIMITS, visits)
    assert visits.count <= bound


def test_a_chain_of_fragments_spread_twice_costs_its_size_not_two_to_its_length() -> None:
    links = 40  # 2**40 visits if each spread were walked again
    text = "query Q { ...F0 }\n" + "\n".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(links)
    )
    text += f"\nfragment F{links} on Query {{ me {{ id }} }}"
    document = parse(text)
    for walk in (
        lambda v: root_fields(document, "Q", {}, v),
        lambda v: check_document(document, LIMITS, v),
    ):
        bound = WALKS_PER_SELECTION * selections(document)
        visits = Visits(budget=bound + 1)
        walk(visits)
        assert visits.count <= bound


def test_a_walk_past_its_budget_is_refused_as_too_complex() -> None:
    visits = Visits(budget=3)
    document = parse("query Q { a: me { id } b: me { id } c: me { id } d: me { id } }")
    with pytest.raises(TooMuchWork) as refusal:
        root_fields(document, "Q", {}, visits)
    assert refusal.value.as_extensions()["code"] == "QUERY_TOO_COMPLEX"


# --- C2: the overlapping-fields rule, last and counted -----------------------------------

NESTED = "agents { edges { node { tasks { edges { node { id state } } } } } }"


def _schema() -> Any:
    from kai.graphql.schema import build_schema

    return build_schema()._schema


@settings(max_examples=25, deadline=None)
@given(
    copies=st.integers(2, 150),
    shape=st.sampled_from(
        [NESTED, "agents { edges { node { id name state type } } }", "me { id email role }"]
    ),
)
def test_C2_repeated_fields_are_refused_exactly_when_their_comparisons_pass_the_budget(
    copies: int, shape: str
) -> None:
    from kai.graphql.extensions import overlapping_fields

    schema = _schema()
    document = parse("{ " + " ".join([shape] * copies) + " }", max_tokens=None)
    unbounded = Visits()
    token = overlapping_fields._comparisons.set(unbounded)
    try:
        assert validate(schema, document, [OverlappingFieldsCanBeMergedRule]) == []
    finally:
        overlapping_fields._comparisons.reset(token)

    errors = overlapping_fields.overlap_errors(schema, document, LIMITS.max_tokens)

    budget = overlapping_fields.COMPARISONS_PER_TOKEN * LIMITS.max_tokens
    codes = [(e.extensions or {}).get("code") for e in errors]
    assert codes == (["QUERY_TOO_COMPLEX"] if unbounded.count > budget else [])


async def test_C2_fields_that_do_not_merge_are_still_refused(client: GraphQLClient) -> None:
    result = await client.execute("{ me { id: email id } }")

    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_C2_the_costly_rule_does_not_run_for_a_document_over_a_cheap_limit(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kai.graphql.extensions import limits

    calls: list[Any] = []

    def counted(*args: Any) -> list[Any]:
        calls.append(args)
        return []

    monkeypatch.setattr(limits, "overlap_errors", counted)
    # 15 fields deep (the limit is 10), every field real.
    path = "agents edges node tasks edges node agent tasks edges node agent tasks edges node"
    too_deep = "{ " + " { ".join(path.split()) + " { id" + " }" * 15

    assert (await client.execute(too_deep)).codes == ["QUERY_TOO_COMPLEX"]
    assert calls == []
    assert (await client.execute("{ agents { totalCount } agents { totalCount } }")).codes == [
        "UNAUTHENTICATED"
    ]
    assert len(calls) == 1


async def test_C2_a_flood_of_repeated_nested_fields_is_refused_as_too_complex(
    client: GraphQLClient,
) -> None:
    flood = "{ " + " ".join([NESTED] * 85) + " }"  # within the 2000-token limit

    assert (await client.execute(flood)).codes == ["QUERY_TOO_COMPLEX"]
