"""More agent types from settings: KAI_RUNTIMES_EXTRA=package.module:factory,..."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from kai.runtimes.base import Runtime


class RuntimeSpecError(ValueError):
    """A KAI_RUNTIMES_EXTRA entry that does not name a runtime factory."""


def load_runtimes(specs: Sequence[str]) -> list[Runtime]:
    """Each `module:factory` is imported and called with no arguments; it returns a Runtime."""
    runtimes: list[Runtime] = []
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        if not module_name or not attribute:
            raise RuntimeSpecError(f"KAI_RUNTIMES_EXTRA: {spec!r} is not module:factory")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise RuntimeSpecError(f"KAI_RUNTIMES_EXTRA: cannot load {spec!r}: {exc}") from exc
        runtime = factory()
        for needed in ("name", "task_types", "run_task", "command", "start", "stop"):
            if not hasattr(runtime, needed):
                raise RuntimeSpecError(f"KAI_RUNTIMES_EXTRA: {spec!r} made no Runtime ({needed})")
        runtimes.append(runtime)
    return runtimes
