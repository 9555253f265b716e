"""docs/architecture.md and the layout paragraph of docs/development.md match the tree, and
the layers the document states are the ones lint-imports enforces."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
KAI = ROOT / "kai"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def packages() -> list[str]:
    return sorted(p.name for p in KAI.iterdir() if (p / "__init__.py").exists())


def top_level_modules() -> list[str]:
    return sorted(p.name for p in KAI.glob("*.py") if p.name != "__init__.py")


def test_every_package_and_top_level_module_of_kai_is_described() -> None:
    missing = [f"kai/{name}/" for name in packages() if f"kai/{name}/" not in DOC]
    missing += [f"kai/{name}" for name in top_level_modules() if f"kai/{name}" not in DOC]
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_every_module_of_the_graphql_edge_is_described() -> None:
    edge = KAI / "graphql"
    names = [p.stem for p in edge.glob("*.py") if p.stem != "__init__"]
    names += [p.stem for p in (edge / "extensions").glob("*.py") if p.stem != "__init__"]
    missing = [name for name in names if not re.search(rf"`{name}(\.py)?`", DOC)]
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_the_documented_layers_are_the_enforced_ones() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = pyproject["tool"]["importlinter"]["contracts"]
    block = DOC.split("## Layers", 1)[1].split("```", 2)[1]
    documented = [line.strip() for line in block.strip().splitlines()]
    assert documented == contract["layers"]
    layered = {name.strip() for layer in documented for name in layer.split("|")}
    modules = set(packages()) | {name.removesuffix(".py") for name in top_level_modules()}
    assert layered == modules, "every package and module of kai/ has exactly one layer"


def test_the_layout_in_the_docs_names_every_package() -> None:
    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    found = re.search(r"^Layout\b.*?(?:\n\n|\Z)", page, re.MULTILINE | re.DOTALL)
    assert found, "docs/development.md has no paragraph starting with 'Layout'"
    layout = found.group(0)
    missing = [name for name in packages() if f"kai/{name}" not in layout]
    assert not missing, f"the Layout paragraph of docs/development.md does not name: {missing}"
