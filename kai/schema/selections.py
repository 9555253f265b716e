"""What a query selects below the field being resolved, for resolvers that read ahead.

A list resolver that knows its items' fields will be asked for can read them for the whole
page at once and hand them to the items, whose fields then answer without awaiting: no
task, no DataLoader round per item (the nested-list cost in docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def selected_under(info: Any, *path: str) -> frozenset[str]:
    """The names of the fields selected at `path` (field names, not aliases) below the field
    being resolved, through fragments and aliases. Directives are not evaluated: a field
    that `@skip` drops is read ahead for nothing, which costs a statement, never an answer."""
    level: list[SelectedField] = list(_fields(info.selected_fields))
    for name in path:
        level = [
            child for field in level for child in _fields(field.selections) if child.name == name
        ]
    return frozenset(child.name for field in level for child in _fields(field.selections))


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            yield from _fields(selection.selections)
