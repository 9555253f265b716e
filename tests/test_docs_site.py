"""The documentation site: `mkdocs build --strict` passes (every link, anchor and nav entry
resolves), its API reference (generated from graphql.schema by docs/hooks/api_reference.py)
names every type, field, argument, input field, enum value and error code with its
description, an undescribed schema element fails the build, and every GraphQL example in
the pages and the README validates against the schema."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    specified_scalar_types,
    validate,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "graphql.schema"
BUILD_TIMEOUT = 300.0
REFERENCE_PAGES = (
    "index",
    "queries",
    "mutations",
    "subscriptions",
    "objects",
    "inputs",
    "enums",
    "scalars",
    "error-codes",
)
GRAPHQL_BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # Material's notice about its end of life goes to stderr on every run: not a warning.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


@dataclass
class Page:
    """A built page: the ids of its elements and its text, tags removed."""

    ids: set[str] = field(default_factory=set)
    text: str = ""
    loads: list[str] = field(default_factory=list)  # what it makes a browser fetch


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.page.ids.add(str(found["id"]))
        if tag in ("script", "style"):
            self._skip += 1
        fetched = {"script": "src", "img": "src", "iframe": "src", "link": "href"}.get(tag)
        if fetched and found.get(fetched) and (tag != "link" or found.get("rel") != "canonical"):
            self.page.loads.append(str(found[fetched]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = normalized("".join(self._text))


def read_page(path: Path) -> Page:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def normalized(text: str) -> str:
    return " ".join(html.unescape(text).split())


def as_rendered(description: str) -> str:
    """A description as it reads once rendered: code spans and links become their text."""
    return normalized(MARKDOWN_LINK.sub(r"\1", description).replace("`", ""))


@dataclass(frozen=True)
class Element:
    where: str  # "field Agent.logs"
    anchor: str  # "Agent.logs"
    description: str


def elements(described: GraphQLSchema) -> Iterator[Element]:
    """Every type of the schema file (no introspection type, no built-in scalar) and
    every field, argument, input field and enum value, with the anchor the reference
    gives it."""
    for name, named in sorted(described.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        yield Element(f"type {name}", name, named.description or "")
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field_ in named.fields.items():
                anchor = f"{name}.{field_name}"
                yield Element(f"field {anchor}", anchor, field_.description or "")
                for arg_name, arg in field_.args.items():
                    where = f"argument {anchor}({arg_name})"
                    yield Element(where, f"{anchor}.{arg_name}", arg.description or "")
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                anchor = f"{name}.{field_name}"
                yield Element(f"input field {anchor}", anchor, input_field.description or "")
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                anchor = f"{name}.{value_name}"
                yield Element(f"enum value {anchor}", anchor, value.description or "")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT / "mkdocs.yml", built)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    return built


@pytest.fixture(scope="module")
def reference(site: Path) -> dict[str, Page]:
    pages = {}
    for name in REFERENCE_PAGES:
        path = site / "reference" / ("index.html" if name == "index" else f"{name}/index.html")
        assert path.is_file(), f"the reference has no page {name}"
        pages[name] = read_page(path)
    return pages


def test_the_reference_is_generated_not_committed() -> None:
    assert not (ROOT / "docs" / "reference").exists()


def test_the_reference_names_every_element_of_the_schema_with_its_description(
    reference: dict[str, Page],
) -> None:
    found = list(elements(schema()))
    missing, undescribed = [], []
    for element in found:
        pages = [page for page in reference.values() if element.anchor in page.ids]
        if not pages:
            missing.append(element.where)
        elif not any(as_rendered(element.description) in page.text for page in pages):
            undescribed.append(element.where)

    kinds = {element.where.split(" ", 1)[0] for element in found}
    assert {"type", "field", "argument", "input", "enum"} <= kinds
    assert not missing, "the reference has no anchor for:\n" + "\n".join(missing)
    assert not undescribed, "the reference lacks the description of:\n" + "\n".join(undescribed)


def test_every_field_and_argument_has_its_anchor_on_its_type_s_page(
    reference: dict[str, Page],
) -> None:
    served = schema()
    roots = {
        root.name: page
        for root, page in (
            (served.query_type, "queries"),
            (served.mutation_type, "mutations"),
            (served.subscription_type, "subscriptions"),
        )
        if root is not None
    }
    misplaced = []
    for name, named in served.type_map.items():
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            continue
        if name.startswith("__"):
            continue
        page = reference[roots.get(name, "objects")]
        for field_name, field_ in named.fields.items():
            anchors = [f"{name}.{field_name}"] + [f"{name}.{field_name}.{a}" for a in field_.args]
            misplaced += [anchor for anchor in anchors if anchor not in page.ids]

    assert not misplaced, "not on their type's page:\n" + "\n".join(misplaced)


def test_the_error_codes_page_names_every_error_code(reference: dict[str, Page]) -> None:
    codes = schema().type_map["ErrorCode"]
    assert isinstance(codes, GraphQLEnumType)
    page = reference["error-codes"]

    missing = [code for code in codes.values if code not in page.ids]
    undescribed = [
        code
        for code, value in codes.values.items()
        if as_rendered(value.description or "") not in page.text
    ]

    assert len(codes.values) >= 18
    assert not missing, f"no entry for {missing}"
    assert not undescribed, f"no description for {undescribed}"


def test_the_built_site_loads_nothing_from_another_host(site: Path) -> None:
    remote = {
        f"{path.relative_to(site)}: {load}"
        for path in site.rglob("*.html")
        for load in read_page(path).loads
        if re.match(r"(?:https?:)?//", load)
    }

    assert not remote, "\n".join(sorted(remote))


def test_an_undescribed_element_of_the_schema_fails_the_build(tmp_path: Path) -> None:
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("images"))
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    stripped, count = re.subn(
        r'^  """Display name\."""\n  name: String!$', "  name: String!", text, flags=re.MULTILINE
    )
    assert count == 1, "graphql.schema no longer describes Agent.name so: update this test"
    (tmp_path / "graphql.schema").write_text(stripped, encoding="utf-8")
    (tmp_path / "docs" / "images").mkdir()
    for image in (ROOT / "docs" / "images").iterdir():
        (tmp_path / "docs" / "images" / image.name).write_bytes(b"")

    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")

    assert result.returncode != 0
    assert "field Agent.name" in result.stdout + result.stderr


def documents() -> Iterator[tuple[str, int, str]]:
    """(file, line, text) of every ```graphql block of the README and the site's pages."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for block in GRAPHQL_BLOCK.finditer(text):
            line = text.count("\n", 0, block.start()) + 2
            yield path.relative_to(ROOT).as_posix(), line, block.group(1)


def test_every_graphql_example_validates_against_the_schema() -> None:
    served = schema()
    problems, checked = [], 0
    for where, line, text in documents():
        document = parse(text)
        fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            checked += 1
            alone = DocumentNode(definitions=(definition, *fragments))
            problems += [f"{where}:{line}: {e.message}" for e in validate(served, alone)]

    assert checked >= 10
    assert not problems, "\n".join(problems)
