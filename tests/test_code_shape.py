"""Small modules and short functions: a reader finds one idea per module and sees a whole
function at once. The limits hold for the server (kai/) and the SDK."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
SOURCES = [ROOT / "kai", ROOT / "packages" / "kai-sdk" / "src"]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(path for source in SOURCES for path in source.rglob("*.py"))


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_sources_are_found() -> None:
    assert len(modules()) > 100


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, "split these modules: " + ", ".join(long)


def test_no_function_is_over_60_lines() -> None:
    long = [found for path in modules() for found in long_functions(path)]
    assert not long, "split these functions: " + ", ".join(long)


def test_a_long_function_is_found(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    sample = tmp_path / "sample.py"
    sample.write_text(f"async def long():\n{body}\n", encoding="utf-8")
    assert long_functions(sample, tmp_path) == [
        f"sample.py:1 long ({MAX_FUNCTION_LINES + 1} lines)"
    ]
