"""kai_sdk.RemoteAgent without a server: dispatch to handlers, answers, backoff, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kai.cli import main
from kai_sdk import ConnectionLost, RemoteAgent, RemoteAgentError
from kai_sdk.documents import CHUNK, LOG, REPLY, TASK_PROGRESS
from kai_sdk.transport import graphql_ws_url
from kai_sdk.usage import CpuMeter, memory_fraction


class FakeApi:
    """Records what the agent sends; answers like a server that takes everything."""

    def __init__(self, fail_with: Exception | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with = fail_with

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((query, variables))
        if self.fail_with is not None:
            raise self.fail_with
        return {}

    def sent(self) -> list[tuple[str, dict[str, Any]]]:
        names = {REPLY: "reply", CHUNK: "chunk", LOG: "log", TASK_PROGRESS: "task"}
        return [(names[query], variables) for query, variables in self.calls]


def command(name: str, **params: Any) -> dict[str, Any]:
    return {"id": "msg_1", "kind": "COMMAND", "payload": {"command": name, "params": params}}


def prompt(text: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "msg_2", "kind": "PROMPT", "payload": {"prompt": text, "options": options}}


def reply(result: Any = None, error: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("reply", {"messageId": "msg_1", "result": result, "error": error})


def chunk(delta: str, done: bool = False) -> tuple[str, dict[str, Any]]:
    return ("chunk", {"messageId": "msg_2", "delta": delta, "done": done})


async def test_a_command_runs_its_handler_and_replies_with_the_result() -> None:
    agent = RemoteAgent()
    api = FakeApi()

    @agent.command("add")
    async def add(params: dict[str, Any]) -> Any:
        return {"sum": params["a"] + params["b"]}

    await agent.handle_message(command("add", a=1, b=2), api)

    assert api.sent() == [reply({"sum": 3})]


async def test_plain_functions_are_command_handlers_too() -> None:
    agent = RemoteAgent()
    api = FakeApi()
    agent.command("ping")(lambda params: "pong")

    await agent.handle_message(command("ping"), api)

    assert api.sent() == [reply("pong")]


async def test_an_unknown_command_replies_an_error_naming_the_known_ones() -> None:
    agent = RemoteAgent()
    api = FakeApi()
    agent.command("b")(lambda params: None)
    agent.command("a")(lambda params: None)

    await agent.handle_message(command("c"), api)

    assert api.sent() == [reply(error="unknown command 'c' (this agent knows: a, b)")]


async def test_a_failing_handler_replies_its_error() -> None:
    agent = RemoteAgent()
    api = FakeApi()

    @agent.command("boom")
    async def boom(params: dict[str, Any]) -> Any:
        raise ValueError("bad input")

    await agent.handle_message(command("boom"), api)

    assert api.sent() == [reply(error="ValueError: bad input")]


async def test_a_result_that_is_not_json_is_an_error_not_a_crash() -> None:
    agent = RemoteAgent()
    api = FakeApi()
    agent.command("obj")(lambda params: object())

    await agent.handle_message(command("obj"), api)

    ((kind, variables),) = api.sent()
    assert kind == "reply"
    assert variables["result"] is None
    assert variables["error"].startswith("TypeError: ")


async def test_a_prompt_streams_chunks_then_done() -> None:
    agent = RemoteAgent()
    api = FakeApi()

    @agent.prompt
    async def answer(text: str, options: dict[str, Any] | None) -> AsyncIterator[str]:
        assert options == {"n": 1}
        for word in text.split():
            yield word
            yield ""  # empty pieces are not sent

    await agent.handle_message(prompt("a b", {"n": 1}), api)

    assert api.sent() == [chunk("a"), chunk("b"), chunk("", done=True)]


async def test_a_prompt_that_fails_midway_reports_the_error_instead_of_done() -> None:
    agent = RemoteAgent()
    api = FakeApi()

    @agent.prompt
    async def answer(text: str, options: dict[str, Any] | None) -> AsyncIterator[str]:
        yield "partial"
        raise RuntimeError("model crashed")

    await agent.handle_message(prompt("x"), api)

    assert api.sent() == [
        chunk("partial"),
        ("reply", {"messageId": "msg_2", "result": None, "error": "RuntimeError: model crashed"}),
    ]


async def test_a_prompt_without_a_handler_is_refused() -> None:
    api = FakeApi()

    await RemoteAgent().handle_message(prompt("x"), api)

    assert api.sent() == [
        ("reply", {"messageId": "msg_2", "result": None, "error": "this agent takes no prompts"})
    ]


async def test_other_kinds_are_ignored() -> None:
    api = FakeApi()

    await RemoteAgent().handle_message({"id": "m", "kind": "SOMETHING", "payload": {}}, api)

    assert api.calls == []


def task_message(task_type: str, payload: Any = None) -> dict[str, Any]:
    body = {"taskId": "tsk_1", "type": task_type, "payload": payload}
    return {"id": "tsk_1", "kind": "TASK", "payload": body}


async def test_a_task_reports_progress_then_its_result_or_its_error() -> None:
    agent = RemoteAgent()
    api = FakeApi()

    @agent.task("count")
    async def count(payload: Any, progress: Any) -> Any:
        await progress(0.5)
        await progress(1.0)  # the end is sent with the result
        return {"counted": payload["to"]}

    @agent.task("fail")
    def fail(payload: Any, progress: Any) -> Any:
        raise RuntimeError("no thanks")

    await agent.handle_message(task_message("count", {"to": 2}), api)
    await agent.handle_message(task_message("fail"), api)
    await agent.handle_message(task_message("nope"), api)

    def final(progress: float, result: Any = None, error: str | None = None) -> Any:
        variables = {"taskId": "tsk_1", "progress": progress, "result": result, "error": error}
        return ("task", variables)

    sent = api.sent()
    assert sent[:3] == [
        ("task", {"taskId": "tsk_1", "progress": 0.5}),
        ("task", {"taskId": "tsk_1", "progress": 0.999}),
        final(1.0, {"counted": 2}),
    ]
    assert sent[3] == final(0.0, error="RuntimeError: no thanks")
    assert sent[4][1]["error"] == "unknown task type 'nope' (this agent knows: count, fail)"
    assert agent.task_types == ["count", "fail"]


@pytest.mark.parametrize("error", [ConnectionLost(), RemoteAgentError("gone", "NOT_FOUND")])
async def test_an_answer_the_server_does_not_take_is_logged_not_raised(error: Exception) -> None:
    agent = RemoteAgent()
    api = FakeApi(fail_with=error)
    agent.command("x")(lambda params: 1)

    await agent.handle_message(command("x"), api)

    assert api.sent() == [reply(1)]


async def test_log_needs_a_connection_and_a_known_level() -> None:
    agent = RemoteAgent()

    with pytest.raises(ConnectionLost):
        await agent.log("hello")
    with pytest.raises(ValueError, match="level"):
        await agent.log("hello", level="LOUD")


def test_reconnect_delays_grow_exponentially_with_jitter_up_to_the_cap() -> None:
    agent = RemoteAgent(backoff_initial=1.0, backoff_max=8.0)

    for attempt, step in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (1000, 8.0)]:
        delays = {agent._backoff(attempt) for _ in range(50)}
        assert all(step / 2 <= delay <= step for delay in delays), (attempt, delays)
        assert len(delays) > 1  # jittered: processes that lost one server do not return in step


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/graphql"),
        ("https://kai.example/", "wss://kai.example/graphql"),
        ("https://kai.example/api/graphql", "wss://kai.example/api/graphql"),
        ("ws://h:1/graphql", "ws://h:1/graphql"),
    ],
)
def test_the_socket_url_comes_from_the_server_url(url: str, expected: str) -> None:
    assert graphql_ws_url(url) == expected


def test_a_url_that_is_not_http_or_ws_is_refused() -> None:
    with pytest.raises(ValueError, match="URL"):
        graphql_ws_url("ftp://kai.example")


def test_usage_is_measured_as_fractions() -> None:
    meter = CpuMeter()
    sum(i * i for i in range(200_000))  # some CPU to measure
    memory = memory_fraction()

    cpu = meter.sample()

    assert memory is not None and 0 < memory <= 1
    assert cpu is None or 0 <= cpu <= 1


RUN = ["agent", "run", "--url", "http://127.0.0.1:1", "--agent-id", "agt_x"]


def test_kai_agent_run_needs_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAI_API_KEY", raising=False)

    with pytest.raises(SystemExit, match="KAI_API_KEY"):
        main([*RUN, "examples.echo_remote:agent"])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("examples.echo_remote", "module:attribute"),
        ("examples.no_such_module:agent", "cannot import"),
        ("examples.echo_remote:echo", "not a kai_sdk.RemoteAgent"),
    ],
)
def test_kai_agent_run_names_a_remote_agent(
    monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.setenv("KAI_API_KEY", "kai_test")

    with pytest.raises(SystemExit, match=message):
        main([*RUN, target])
