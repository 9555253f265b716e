"""Subscription events projected without per-field execution (kai.graphql.event_projection)
give what graphql-core's execution gives, for generated selections of AgentEvent: fields in
any order and subset, aliases, `__typename`, fragments and inline fragments, `@skip` and
`@include` by literal or variable; and for events whose values do not fit (a null where
the schema says non-null), the same errors, through execution."""

from __future__ import annotations

import json
import random
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate
from graphql.execution import collect_fields as collect_fields_module
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from kai.graphql.event_projection import ProjectingExecutor, Projection, compile_projection
from kai.graphql.schema import build_schema
from kai.graphql.shared_results import SHARED, shared_message_text
from kai.schema.agent_event import AgentEvent, AgentEventType
from tests.support.subscriptions import EVENTS, kai_server, owner_with_agent
from tests.support.ws_client import PROTOCOLS, ws_connect

SCHEMA = build_schema()
CORE = SCHEMA._schema
DATA: list[Any] = [{}, {"to": "RUNNING"}, {"n": [1, 2.5, None, "x"]}, {"deep": {"a": True}}]
FIELDS = ["seq", "agentId", "type", "data", "timestamp", "__typename"]


def _selection(rng: random.Random, variables: dict[str, Any], depth: int = 0) -> str:
    """Some of AgentEvent's fields, each maybe aliased or conditional, maybe in fragments."""
    parts = []
    for name in rng.sample(FIELDS, rng.randint(1, len(FIELDS))):
        # An alias names one field only (two fields under one key do not validate).
        alias = rng.choice(["", f"{name.strip('_')}{rng.choice('XY')}: "])
        field = f"{alias}{name}"
        roll = rng.random()
        if roll < 0.15:
            field += f" @skip(if: {rng.choice(['true', 'false'])})"
        elif roll < 0.3:
            flag = f"f{len(variables)}"
            variables[flag] = rng.random() < 0.5
            field += f" @include(if: ${flag})"
        parts.append(field)
    if depth < 2 and rng.random() < 0.4:
        parts.append("... on AgentEvent { " + _selection(rng, variables, depth + 1) + " }")
    if depth < 2 and rng.random() < 0.3:
        parts.append("... { " + _selection(rng, variables, depth + 1) + " }")
    return " ".join(parts)


def _document(rng: random.Random) -> tuple[str, dict[str, Any]]:
    variables: dict[str, Any] = {}
    body = _selection(rng, variables)
    fragment = ""
    if rng.random() < 0.4:
        fragment = "fragment Extra on AgentEvent { " + _selection(rng, variables) + " }"
        body += " ...Extra"
    root = rng.choice(["agentEvents", "events: agentEvents"])
    declared = "".join(f", ${name}: Boolean!" for name in variables)
    query = (
        f"subscription Follow($id: ID!{declared}) {{ {root}(agentId: $id) {{ {body} }} }}"
        + fragment
    )
    return query, {"id": "agt_1", **variables}


def _event(rng: random.Random) -> AgentEvent:
    return AgentEvent(
        seq=rng.randrange(1, 10**6),
        agent_id="agt_" + str(rng.randrange(10**6)),  # type: ignore[arg-type]
        type=rng.choice(list(AgentEventType)),
        data=rng.choice(DATA),
        timestamp=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8)),
    )


def _executed(executor_class: type[Any], query: str, variables: dict[str, Any], event: Any) -> Any:
    document = parse(query)
    assert validate(CORE, document) == []
    executor = executor_class.build(CORE, document, raw_variable_values=variables)
    assert not isinstance(executor, list), executor
    result = executor.build_per_event_executor(event).execute_operation(False)
    # As text: the order of the keys is part of the answer.
    return json.dumps(result.data), [error.formatted for error in result.errors or []]


@pytest.mark.parametrize("seed", range(40))
def test_a_projection_answers_as_execution_does(seed: int) -> None:
    rng = random.Random(seed)
    query, variables = _document(rng)
    executor = ProjectingExecutor.build(CORE, parse(query), raw_variable_values=variables)
    assert compile_projection(executor) is not None, query  # every one of these is plain
    for _ in range(5):
        event = _event(rng)
        projected = _executed(ProjectingExecutor, query, variables, event)
        executed = _executed(StrawberryGraphQLCoreExecutionContext, query, variables, event)
        assert projected == executed, query


def test_values_that_do_not_fit_are_executed_and_reported_alike() -> None:
    query = "subscription($id: ID!) { agentEvents(agentId: $id) { seq type timestamp } }"
    broken = AgentEvent(seq=None, agent_id="agt_1", type="NOT A TYPE", data={}, timestamp=None)  # type: ignore[arg-type]
    projected = _executed(ProjectingExecutor, query, {"id": "agt_1"}, broken)
    executed = _executed(StrawberryGraphQLCoreExecutionContext, query, {"id": "agt_1"}, broken)
    assert projected == executed
    assert projected[0] == "null" and projected[1]


class _Unreadable(AgentEvent):
    @property
    def data(self) -> Any:  # type: ignore[override]
        raise RuntimeError("cannot read data")


def test_a_value_that_cannot_be_read_is_executed_and_reported_alike() -> None:
    query = "subscription($id: ID!) { agentEvents(agentId: $id) { seq data } }"
    event = object.__new__(_Unreadable)
    object.__setattr__(event, "seq", 3)
    projected = _executed(ProjectingExecutor, query, {"id": "agt_1"}, event)
    executed = _executed(StrawberryGraphQLCoreExecutionContext, query, {"id": "agt_1"}, event)
    assert projected == executed
    assert "cannot read data" in json.dumps(projected[1])


@pytest.mark.parametrize(
    "selection",
    [
        'streamPrompt(agentId: $id, input: {prompt: "hi"}) { delta done }',  # plain: projected
        "taskUpdates(taskId: $id) { id agent { id } }",  # an object with a resolver
        "taskUpdates(taskId: $id) { id state attempts }",
    ],
)
def test_only_plain_selections_are_projected(selection: str) -> None:
    executor = ProjectingExecutor.build(
        CORE, parse(f"subscription($id: ID!) {{ {selection} }}"), raw_variable_values={"id": "x"}
    )
    projection = compile_projection(executor)
    assert (projection is None) == ("agent {" in selection)


# -- over real sockets: one result per event, whatever the number of subscribers ------------

SUBSCRIBERS = 12
SharedResults = type(SHARED)


@pytest.fixture
def projections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The (shape, seq) of every result computed by a projection (the server is in-process)."""
    made: list[tuple[Any, ...]] = []
    result = Projection.result

    def counted(self: Projection, event: Any) -> dict[str, Any]:
        made.append((self.shape, event.seq))
        return result(self, event)

    monkeypatch.setattr(Projection, "result", counted)
    return made


@pytest.fixture
def texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every JSON text of a shared result handed to a transport (the same object when the
    result was written once)."""
    handed: list[str] = []
    text = SharedResults.text

    def recorded(self: Any, data: object) -> str | None:
        found = text(self, data)
        if found is not None:
            handed.append(found)
        return found

    monkeypatch.setattr(SharedResults, "text", recorded)
    return handed


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_event_is_projected_once_for_all_its_subscribers(
    database_url: str,
    tmp_path: Path,
    protocol: str,
    projections: list[tuple[Any, ...]],
    texts: list[str],
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with AsyncExitStack() as stack:
            sockets = []
            for n in range(SUBSCRIBERS):
                ws = await stack.enter_async_context(ws_connect(server.url, protocol, token=token))
                # Two shapes: half the subscribers alias a field.
                query = EVENTS if n % 2 else EVENTS.replace("{ seq", "{ number: seq")
                sockets.append((ws, await ws.subscribe(query, {"agentId": agent_id, "after": 0})))
            await server.command(token, agent_id, "hello")
            for n, (ws, op) in enumerate(sockets):
                events = await ws.results(op, 3, "agentEvents")
                assert [event["number" if n % 2 == 0 else "seq"] for event in events] == [1, 2, 3]
    # Each stored event (replayed or live) once per shape, not once per subscriber; and
    # written as JSON once (the 36 frames each splice that text into their own id).
    assert sorted(set(projections)) == sorted(projections)
    assert len(projections) == 2 * 3
    assert len(texts) == SUBSCRIBERS * 3
    assert len({id(text) for text in texts}) == 2 * 3


# -- one JSON text per shared result ------------------------------------------------------


def _shared_result(seq: int) -> dict[str, Any]:
    query = "subscription($id: ID!) { agentEvents(agentId: $id) { seq type data } }"
    executor = ProjectingExecutor.build(CORE, parse(query), raw_variable_values={"id": "a"})
    projection = compile_projection(executor)
    assert projection is not None
    event = AgentEvent(
        seq=seq,
        agent_id="agt_1",  # type: ignore[arg-type]
        type=AgentEventType.LOG,
        data={"message": "a \u0000 b \u2028 ü"},  # type: ignore[arg-type]
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return SHARED.get(projection, event)


@pytest.mark.parametrize("seed", range(30))
def test_a_shared_result_is_sent_as_json_dumps_writes_the_message(seed: int) -> None:
    rng = random.Random(seed)
    data = _shared_result(10**6 + seed)
    # Ids a client chooses, the payload's stand-in among them.
    id = rng.choice(["1", "\u0000kai-shared-payload\u0000", '"}', "x" * rng.randrange(50)])
    messages = [
        {"id": id, "type": "next", "payload": {"data": data}},  # graphql-transport-ws
        {"type": "data", "id": id, "payload": {"data": data}},  # graphql-ws
        {"data": data},  # graphql-sse's next event
    ]
    for message in messages:
        assert shared_message_text(message) == json.dumps(message, separators=(",", ":"))
    # Anything else is left to the usual encoder.
    assert shared_message_text({"data": dict(data)}) is None
    assert (
        shared_message_text({"id": id, "type": "next", "payload": {"data": data, "x": 1}}) is None
    )


def test_a_fragment_chain_is_compiled_once_per_fragment(monkeypatch: pytest.MonkeyPatch) -> None:
    links = 16
    chain = [f"fragment F{n} on AgentEvent {{ seq ...F{n + 1} ...F{n + 1} }}" for n in range(links)]
    chain.append(f"fragment F{links} on AgentEvent {{ type }}")
    query = "subscription($id: ID!) { agentEvents(agentId: $id) { ...F0 } } " + " ".join(chain)
    walked = []
    visit = collect_fields_module.visit_selection_sets

    def counted(*args: Any) -> Any:
        walked.append(1)
        return visit(*args)

    # The projection collects fields with graphql-core's collector: its walk is counted.
    monkeypatch.setattr(collect_fields_module, "visit_selection_sets", counted)
    executor = ProjectingExecutor.build(CORE, parse(query), raw_variable_values={"id": "a"})
    projection = compile_projection(executor)
    assert projection is not None
    assert [leaf.key for leaf in projection.leaves] == ["seq", "type"]
    assert len(walked) <= 4 * links, len(walked)  # 2^16 spreads, expanded anew


def test_subscriptions_of_one_shape_keep_one_compiled_projection() -> None:
    """Two documents that select the same fields under the same keys (one through a fragment,
    one with a variable that includes a field) compile to the very same projection; another
    key is another projection."""

    def compiled(query: str, variables: dict[str, Any]) -> Projection | None:
        executor = ProjectingExecutor.build(CORE, parse(query), raw_variable_values=variables)
        assert not isinstance(executor, list), executor
        return compile_projection(executor)

    plain = compiled(
        "subscription($id: ID!) { agentEvents(agentId: $id) { seq type } }", {"id": "a"}
    )
    spread = compiled(
        "subscription($id: ID!, $t: Boolean!) { agentEvents(agentId: $id) "
        "{ ...F type @include(if: $t) } } fragment F on AgentEvent { seq }",
        {"id": "b", "t": True},
    )
    renamed = compiled(
        "subscription($id: ID!) { agentEvents(agentId: $id) { n: seq type } }", {"id": "a"}
    )
    assert plain is not None and spread is plain
    assert renamed is not None and renamed is not plain
