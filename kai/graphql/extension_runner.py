"""Strawberry's schema-extension runner, with what it looked up per result looked up once.

A subscription's every result goes through the runner twice: `on_stream_result`, which
builds a context manager that asks each of the schema's extensions (thirteen here)
whether it has the hook, wrapping each hook it finds anew; and `get_extensions_results`,
which awaits every extension's `get_results`, though only those that override it can
answer anything but `{}`. Per result and subscriber, that was an eighth of a replay's
server time and a tenth of a 5,000-subscriber fan-out's (docs/performance.md). The
answers are the same for the whole operation (its extensions are made with it), so this
runner finds the extensions that have each hook once, and passes only those on. Queries
answered over HTTP save the `get_results` calls as well.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import StreamResultContextManager
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

# Overridden here beyond Strawberry's documented extension API; tests/test_library_seams.py
# fails when Strawberry's side of one changes.
SEAMS = (
    "strawberry.schema.schema:Schema.create_extensions_runner",
    "strawberry.extensions.runner:SchemaExtensionsRunner.on_stream_result",
    "strawberry.extensions.runner:SchemaExtensionsRunner.get_extensions_results",
    "strawberry.extensions.context:ExtensionContextManagerBase.get_hook",
)


def overrides(extension: SchemaExtension, hook: str) -> bool:
    """Whether the extension's class has `hook` of its own: the test Strawberry's context
    managers make (ExtensionContextManagerBase.get_hook)."""
    return getattr(type(extension), hook) is not getattr(SchemaExtension, hook)


class KaiExtensionsRunner(SchemaExtensionsRunner):
    _stream_hooked: list[SchemaExtension] | None = None
    _with_results: list[SchemaExtension] | None = None

    def on_stream_result(self, result: Any) -> StreamResultContextManager:
        hooked = self._stream_hooked
        if hooked is None:
            hooked = [e for e in self.extensions if overrides(e, "on_stream_result")]
            self._stream_hooked = hooked
        return StreamResultContextManager(hooked, result)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        answering = self._with_results
        if answering is None:
            answering = [e for e in self.extensions if overrides(e, "get_results")]
            self._with_results = answering
        data: dict[str, Any] = {}
        for extension in answering:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
