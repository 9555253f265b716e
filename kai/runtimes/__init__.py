"""Agent types, one module each behind kai.runtimes.base.Runtime."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kai.errors import BadUserInput
from kai.runtimes.base import Runtime


class RuntimeRegistry:
    def __init__(self, runtimes: Iterable[Runtime]):
        self._runtimes = {runtime.name: runtime for runtime in runtimes}

    def __iter__(self) -> Iterator[Runtime]:
        return iter(self._runtimes.values())

    def get(self, name: str, *, field: str = "input.type") -> Runtime:
        runtime = self._runtimes.get(name)
        if runtime is None:
            known = ", ".join(sorted(self._runtimes))
            raise BadUserInput(f"Unknown agent type {name!r}; known: {known}.", field=field)
        return runtime

    async def aclose(self) -> None:
        """Release what runtimes hold open (HTTP clients) when the process stops."""
        for runtime in self:
            close = getattr(runtime, "aclose", None)
            if close is not None:
                await close()
