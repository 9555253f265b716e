"""kai.graphql.extension_runner: the same hooks and results as Strawberry's runner, with the
extensions that have them found once per operation instead of once per result."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from kai.graphql import extension_runner
from kai.graphql.extension_runner import KaiExtensionsRunner


class Plain(SchemaExtension):
    pass


class Streaming(SchemaExtension):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.seen.append(result)
        yield


class Answering(SchemaExtension):
    async def get_results(self) -> dict[str, Any]:
        return {"answering": 1}


def _context() -> Any:
    class Context:
        extensions_results = {"fromContext": 2}

    return Context()


def _run(runner: SchemaExtensionsRunner, results: int) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        for number in range(results):
            async with runner.on_stream_result(number):  # type: ignore[arg-type]
                pass
        context: ExecutionContext = _context()
        return await runner.get_extensions_results(context)

    return asyncio.run(scenario())


def test_hooks_and_results_are_strawberrys_and_looked_up_once(monkeypatch: Any) -> None:
    looked_up = 0
    overrides = extension_runner.overrides

    def counted(extension: SchemaExtension, hook: str) -> bool:
        nonlocal looked_up
        looked_up += 1
        return overrides(extension, hook)

    monkeypatch.setattr(extension_runner, "overrides", counted)
    answers = {}
    seen = {}
    for runner_class in (SchemaExtensionsRunner, KaiExtensionsRunner):
        streaming = Streaming()
        extensions = [*(Plain() for _ in range(12)), streaming, Answering()]
        runner = runner_class(execution_context=_context(), extensions=extensions)
        answers[runner_class] = _run(runner, results=50)
        seen[runner_class] = streaming.seen

    assert answers[KaiExtensionsRunner] == answers[SchemaExtensionsRunner]
    assert answers[KaiExtensionsRunner] == {"answering": 1, "fromContext": 2}
    assert seen[KaiExtensionsRunner] == seen[SchemaExtensionsRunner] == list(range(50))
    # Each extension asked once per hook for the whole operation, not per result.
    assert looked_up == 14 * 2
