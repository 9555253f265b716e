"""An agents list reads its items' owners, statuses and files for the whole page at once
(kai.schema.agent_read_ahead), and the items' fields answer without awaiting.

Counted, not timed: the asyncio tasks a request creates stay the same whatever the page's
size (they grew by about four per agent when each field loaded its own); and the answer is
the one the same fields give for one agent at a time, fragments and aliases included.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from kai.schema import selections
from kai.schema.selections import selected_under
from tests.support.agents import create_echo, signed_in
from tests.support.graphql_client import GraphQLClient, nodes
from tests.support.uploads import upload

FIELDS = """
  id
  owner { id email }
  status { state health { status } metrics { commandsTotal tasksPending } }
  files { id originalName size }
"""
LIST = "query($first: Int!) { agents(first: $first) { edges { node { " + FIELDS + " } } } }"
ONE = "query($id: ID!) { agent(id: $id) { " + FIELDS + " } }"
# The same fields through a fragment, an inline fragment and aliases.
DISGUISED = """
query($first: Int!) {
  list: agents(first: $first) {
    e: edges { n: node { ...Parts ... on Agent { them: files { id originalName size } } } }
  }
}
fragment Parts on Agent {
  id
  who: owner { id email }
  status { state health { status } metrics { commandsTotal tasksPending } }
}
"""


# Set around the request: tasks created by the request's own code (which the in-process
# transport runs in the test's context, and its tasks copy) see it; the app's background
# work, started before, does not.
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


@contextmanager
def counting_tasks() -> Iterator[list[int]]:
    """Counts the tasks the code run inside the block creates on the running loop."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    created = [0]

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        if _IN_REQUEST.get():
            created[0] += 1
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    token = _IN_REQUEST.set(True)
    try:
        yield created
    finally:
        _IN_REQUEST.reset(token)
        loop.set_task_factory(previous)


async def _agents(client: GraphQLClient, token: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        agent = await create_echo(client, token, name=f"ahead-{n}")
        ids.append(agent["id"])
        if n % 3 == 0:
            await upload(client, token, f"notes {n}\n".encode(), agent_id=agent["id"])
    return ids


async def test_a_bigger_page_creates_no_more_tasks(client: GraphQLClient) -> None:
    token = await signed_in(client)
    await _agents(client, token, 24)
    tasks = {}
    for first in (2, 24):
        await client.execute(LIST, {"first": first}, token=token)  # warm caches alike
        with counting_tasks() as created:
            result = await client.execute(LIST, {"first": first}, token=token)
        assert len(nodes(result.ok()["agents"])) == first
        tasks[first] = created[0]
    assert tasks[24] == tasks[2], tasks


async def test_the_list_answers_as_each_agent_does_on_its_own(client: GraphQLClient) -> None:
    token = await signed_in(client)
    ids = await _agents(client, token, 7)
    listed = nodes((await client.execute(LIST, {"first": 50}, token=token)).ok()["agents"])
    alone = [(await client.execute(ONE, {"id": id}, token=token)).ok()["agent"] for id in ids]
    assert sorted(listed, key=lambda agent: agent["id"]) == sorted(alone, key=lambda a: a["id"])
    assert sum(len(agent["files"]) for agent in listed) == 3

    disguised = (await client.execute(DISGUISED, {"first": 50}, token=token)).ok()["list"]
    renamed = [
        {"id": n["id"], "owner": n["who"], "status": n["status"], "files": n["them"]}
        for n in (edge["n"] for edge in disguised["e"])
    ]
    assert renamed == listed


def _chain(links: int, leaf: str) -> str:
    """Fragments F0..F{links}, each spreading the next twice: 2^links spreads if each is
    expanded anew."""
    fragments = [f"fragment F{n} on Agent {{ id ...F{n + 1} ...F{n + 1} }}" for n in range(links)]
    fragments.append(f"fragment F{links} on Agent {{ {leaf} }}")
    return " ".join(fragments)


def test_a_fragment_chain_is_walked_once_per_fragment(monkeypatch: pytest.MonkeyPatch) -> None:
    links = 16
    query = "{ agents { edges { node { ...F0 } } } } " + _chain(links, "owner { id }")
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    info = SimpleNamespace(
        _raw_info=SimpleNamespace(
            fragments=fragments, field_nodes=[operation.selection_set.selections[0]]
        )
    )
    walked = []
    fields = selections._fields

    def counted(*args: Any) -> Any:
        walked.append(1)
        return fields(*args)

    monkeypatch.setattr(selections, "_fields", counted)
    assert selected_under(info, "edges", "node") == {"id", "owner"}
    assert len(walked) <= 4 * links, len(walked)  # 2^16 = 65,536 spreads, expanded anew
