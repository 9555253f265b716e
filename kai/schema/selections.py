"""What a query selects below the field being resolved, for resolvers that read ahead.

A list resolver that knows its items' fields will be asked for can read them for the whole
page at once and hand them to the items, whose fields then answer without awaiting: no
task, no DataLoader round per item (the nested-list cost in docs/performance.md).

The walk is over graphql-core's nodes, each named fragment expanded once (as graphql-core's
own field collection does): Strawberry's `info.selected_fields` expands every spread anew,
which a chain of fragments each spread twice by the one before turns into 2^n work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode

# Strawberry's Info keeps graphql-core's resolve info (field nodes, fragments) in
# `_raw_info`, which its own properties read (field_name, here the one watched by
# tests/test_library_seams.py).
SEAMS = ("strawberry.types.info:Info.field_name",)


def selected_under(info: Any, *path: str) -> frozenset[str]:
    """The names of the fields selected at `path` (field names, not aliases) below the field
    being resolved, through fragments and aliases. Directives are not evaluated: a field
    that `@skip` drops is read ahead for nothing, which costs a statement, never an answer."""
    fragments = info._raw_info.fragments
    level: list[FieldNode] = list(info._raw_info.field_nodes)
    for name in path:
        level = [child for child in _children(level, fragments) if child.name.value == name]
    return frozenset(child.name.value for child in _children(level, fragments))


def _children(fields: Iterable[FieldNode], fragments: dict[str, Any]) -> Iterator[FieldNode]:
    """The fields directly under `fields`, each named fragment expanded once."""
    expanded: set[str] = set()
    for field in fields:
        if field.selection_set is not None:
            yield from _fields(field.selection_set.selections, fragments, expanded)


def _fields(
    selections: Iterable[SelectionNode], fragments: dict[str, Any], expanded: set[str]
) -> Iterator[FieldNode]:
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set.selections, fragments, expanded)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in expanded:
                continue
            expanded.add(name)
            yield from _fields(fragment.selection_set.selections, fragments, expanded)
