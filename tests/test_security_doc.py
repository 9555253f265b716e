"""docs/security.md is the one place a security requirement id is defined.

The code and the tests cite requirement ids ("A4", "G7", "S10"...) in comments,
docstrings, schema descriptions and test names. These tests keep the citations and
the document in step:

- every id cited in kai/, tests/, README.md or the site's pages (docs/*.md) is defined
  in docs/security.md (a `### A4 — ...` heading), so a reader can always look a citation
  up;
- every id defined there is cited by at least one test module (tests/**/test_*.py),
  except the ids the document itself lists under "Not yet covered by a test", and
  that list holds exactly the uncovered ones (a requirement that gains a test must
  leave it).

What counts as a citation (docs/security.md, "Citing a requirement"):

- in prose (comments, docstrings, the Markdown of README.md and docs/) every id outside
  `code spans` and `noqa` comments: "(A3, K2)", "# --- S1 algorithm pinned", "W4's",
  ranges "G1-G3" (both ends and every defined id between them) and pairs "A1/A2";
- in other string literals, which are data (GraphQL documents, test input, schema
  descriptions), only "SECURITY.md A4" (or "security.md A4") and "(G7)"-style
  parenthesised lists, so "...F0", "%C3" or "/F1" are not ids;
- test functions named after ids: test_a4_..., test_F1_..., test_g1_g3_...

"S3" is also Amazon's object store: in a file that speaks of it (AMAZON_S3), S3 is
never read as a citation.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = Path("docs") / "security.md"
# Not scanned: its samples cite made-up ids on purpose.
THIS_FILE = Path(__file__).resolve()
# Where citations are looked for, relative to the repository's root.
SCANNED_DIRS = ("kai", "tests")
SCANNED_FILES = ("README.md",)
# The documentation site's pages, this document among them: their Markdown is prose.
SCANNED_PAGES = "docs"
SKIPPED_PARTS = frozenset({"node_modules", "__pycache__", ".venv"})

_ID = r"[A-Z][0-9]{1,2}"
# One id, or a range ("G1-G3", "S1–S10"), or a pair ("A1/A2").
_ITEM = rf"{_ID}(?:\s?[-–/]\s?{_ID})?"
# Items joined by commas or "and": "G1-G3, W4", "A1-A4, A8, A10", "S7 and W3".
_LIST = rf"{_ITEM}(?:(?:,\s*|\s+and\s+){_ITEM})*"
_ITEM_RE = re.compile(rf"({_ID})(?:\s?([-–/])\s?({_ID}))?")

# The marked forms, the only ones read in string literals that are data (GraphQL
# documents, schema descriptions, test input).
_MARKED = (
    # "SECURITY.md A4", 'SECURITY.md "GraphQL layer" G1-G5', "docs/security.md: K5".
    re.compile(rf"(?i:security\.md)(?:\s+\"[^\"\n]*\")?:?\s+(?P<ids>{_LIST})(?!\w)"),
    # "(G7)", "(A3, K2)", "(G1-G3, W4)", "(A5-A7: test_security_magic_link)".
    re.compile(rf"\((?P<ids>{_LIST})(?=[):;])"),
)
# In prose (comments, docstrings and other bare string statements, Markdown), outside
# `code spans` and noqa comments, these forms too.
_PROSE = (
    *_MARKED,
    # Last in parentheses: "(nobody changes their own role, K4)".
    re.compile(rf",\s(?P<ids>{_LIST})\)"),
    # Leading a line: "# A5: ...", "# --- S1 algorithm pinned ---", '"""K6 over HTTP'.
    re.compile(rf"^[\s#-]*(?P<ids>{_LIST})(?=[\s:,.)]|$)", re.MULTILINE),
    # Followed by a colon: "... refused whole. G4: a JSON array ...".
    re.compile(rf"(?<![\w$.\[{{])(?P<ids>{_LIST}):(?=\s)"),
    # A range: "resume, W1-W4, slow readers".
    re.compile(rf"(?<![\w%$.])(?P<ids>{_ID}\s?[-–]\s?{_ID})(?![\w-])"),
)
# A section heading in a comment ("# --- S3 exp and iat, S4 iss and aud ---"): each id in it.
_HEADING = re.compile(r"^\s*#\s*-{2,}(?P<text>.*)$", re.MULTILINE)
_HEADING_ID = re.compile(rf"(?<![\w%$.])({_ID})(?!\w)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_NOQA = re.compile(r"#\s*(?:noqa|type:\s*ignore)\b.*$", re.MULTILINE)
# Test functions named after requirements: test_a4_..., test_F1_..., test_g1_g3_...
_TEST_NAME = re.compile(
    r"^\s*(?:async\s+)?def\s+test_(?P<ids>(?:[A-Za-z][0-9]{1,2}_)+)", re.MULTILINE
)
# A file that speaks of Amazon S3, the object store: there "S3" is never requirement S3.
AMAZON_S3 = re.compile(r"s3_server|S3BlobStore|KAI_S3_|\bS3 (?:bucket|multipart|object|endpoint)")

# docs/security.md: the ids it defines, and the ones it says no test cites yet.
_DEFINITION = re.compile(rf"^###\s+(?P<id>{_ID})\b", re.MULTILINE)
_UNCOVERED_SECTION = re.compile(
    r"^##\s+Not yet covered by a test\s*$(?P<body>.*?)(?=^##\s|\Z)", re.MULTILINE | re.DOTALL
)
_UNCOVERED_ENTRY = re.compile(rf"^[-*]\s+`?(?P<id>{_ID})`?\b", re.MULTILINE)


@dataclass(frozen=True, order=True)
class Citation:
    """One citation: `first`, or the range `first`-`last` when `last` differs."""

    path: str
    line: int
    first: str
    last: str

    def __str__(self) -> str:
        cited = self.first if self.first == self.last else f"{self.first}-{self.last}"
        return f"{self.path}:{self.line}: {cited}"

    def ids(self, defined: Iterable[str]) -> set[str]:
        """The ids cited: both ends of a range and every defined id between them."""
        if self.first == self.last:
            return {self.first}
        letter, low, high = self.first[0], int(self.first[1:]), int(self.last[1:])
        between = {i for i in defined if i[0] == letter and low < int(i[1:]) < high}
        return {self.first, self.last, *between}

    def problem(self, defined: Iterable[str]) -> str | None:
        """Why this citation points at nothing, or None when it is fine."""
        known = set(defined)
        if self.first != self.last and (
            self.first[0] != self.last[0] or int(self.first[1:]) >= int(self.last[1:])
        ):
            return f"{self}: not a range of one series (write e.g. G1-G3)"
        missing = sorted({self.first, self.last} - known)
        if missing:
            where = f"{self.path}:{self.line}"
            return f"{where}: {', '.join(missing)} not defined in {DOC}"
        return None


def _items(ids: str, path: str, line: int) -> Iterator[Citation]:
    for match in _ITEM_RE.finditer(ids):
        first, joiner, second = match.groups()
        if second is None:
            yield Citation(path, line, first, first)
        elif joiner == "/":  # "A1/A2": two ids, not a range
            yield Citation(path, line, first, first)
            yield Citation(path, line, second, second)
        else:
            yield Citation(path, line, first, second)


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """`text` with what `pattern` matches replaced by spaces (offsets and lines kept)."""
    return pattern.sub(lambda match: re.sub(r"[^\n]", " ", match.group()), text)


def _line_of(text: str, offset: int, first_line: int) -> int:
    return first_line + text.count("\n", 0, offset)


def _matches(
    forms: Iterable[re.Pattern[str]], text: str, path: str, first_line: int
) -> set[Citation]:
    found: set[Citation] = set()
    for form in forms:
        for match in form.finditer(text):
            line = _line_of(text, match.start("ids"), first_line)
            found.update(_items(match.group("ids"), path, line))
    return found


def citations_in_prose(text: str, path: str = "<prose>", first_line: int = 1) -> set[Citation]:
    """The citations in a comment, a docstring or Markdown, outside code spans."""
    text = _blank(_NOQA, _blank(_CODE_SPAN, text))
    found = _matches(_PROSE, text, path, first_line)
    for heading in _HEADING.finditer(text):
        line = _line_of(text, heading.start(), first_line)
        for match in _HEADING_ID.finditer(heading.group("text")):
            found.update(_items(match.group(), path, line))
    return found


def citations_in_data(text: str, path: str = "<data>", first_line: int = 1) -> set[Citation]:
    """The marked citations in a string literal that is data ("SECURITY.md A4", "(G7)")."""
    return _matches(_MARKED, text, path, first_line)


_STRING_QUOTES = re.compile(r"^[rRbBuUfF]*(\"\"\"|\'\'\'|\"|\')(?P<body>.*)\1$", re.DOTALL)


def _bare_strings(source: str) -> set[tuple[int, int]]:
    """Where each string statement starts (docstrings and the like): (line, column)."""
    return {
        (node.lineno, node.col_offset)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def citations_in_python(source: str, path: str = "<python>") -> set[Citation]:
    """The citations in a module's comments, string literals and test function names."""
    bare = _bare_strings(source)
    found: set[Citation] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        line = token.start[0]
        if token.type == tokenize.COMMENT:
            found |= citations_in_prose(token.string, path, line)
        elif token.type == tokenize.STRING:
            quoted = _STRING_QUOTES.match(token.string)
            text = quoted.group("body") if quoted else token.string
            if token.start in bare:
                found |= citations_in_prose(text, path, line)
            else:
                found |= citations_in_data(text, path, line)
        elif token.type == getattr(tokenize, "FSTRING_MIDDLE", None):  # Python 3.12+
            found |= citations_in_data(token.string, path, line)
    for match in _TEST_NAME.finditer(source):
        line = source.count("\n", 0, match.start("ids")) + 1
        for name in match.group("ids").rstrip("_").split("_"):
            found.add(Citation(path, line, name.upper(), name.upper()))
    return found


def citations_in_file(path: Path, root: Path) -> set[Citation]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(root).as_posix()
    found = (
        citations_in_python(text, name) if path.suffix == ".py" else citations_in_prose(text, name)
    )
    if AMAZON_S3.search(text):
        found = {c for c in found if "S3" not in (c.first, c.last)}
    return found


def scanned_files(root: Path) -> list[Path]:
    files = [root / name for name in SCANNED_FILES if (root / name).is_file()]
    files.extend(sorted((root / SCANNED_PAGES).rglob("*.md")))
    for directory in SCANNED_DIRS:
        files.extend(
            path
            for path in sorted((root / directory).rglob("*.py"))
            if not SKIPPED_PARTS.intersection(path.relative_to(root).parts)
            and path.resolve() != THIS_FILE
        )
    return files


def is_test_module(path: str) -> bool:
    parts = Path(path).parts
    return parts[0] == "tests" and parts[-1].startswith("test_")


def defined_ids(doc: str) -> list[str]:
    return [match.group("id") for match in _DEFINITION.finditer(doc)]


def declared_uncovered(doc: str) -> set[str]:
    section = _UNCOVERED_SECTION.search(doc)
    if section is None:
        return set()
    return {match.group("id") for match in _UNCOVERED_ENTRY.finditer(section.group("body"))}


@dataclass(frozen=True)
class Findings:
    undefined: list[str]
    uncovered: set[str]


def check(root: Path) -> Findings:
    """Citations of ids the document does not define; defined ids no test module cites."""
    doc = (root / DOC).read_text(encoding="utf-8")
    defined = set(defined_ids(doc))
    citations = [c for path in scanned_files(root) for c in citations_in_file(path, root)]
    undefined = sorted({p for c in sorted(citations) if (p := c.problem(defined)) is not None})
    covered = {i for c in citations if is_test_module(c.path) for i in c.ids(defined)}
    return Findings(undefined=undefined, uncovered=defined - covered)


# --- the repository ---------------------------------------------------------------------


def test_security_doc_defines_each_requirement_once() -> None:
    doc = (ROOT / DOC).read_text(encoding="utf-8")
    ids = defined_ids(doc)
    assert len(ids) >= 50, f"{DOC} defines only {ids}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{DOC} defines these ids more than once: {duplicates}"
    listed = declared_uncovered(doc)
    assert listed <= set(ids), f"'Not yet covered' lists undefined ids: {sorted(listed - set(ids))}"


def test_every_cited_requirement_id_is_defined_in_the_security_doc() -> None:
    findings = check(ROOT)
    assert not findings.undefined, (
        f"Requirement ids cited but not defined in {DOC} (define them there, or fix the "
        "citation):\n" + "\n".join(findings.undefined)
    )


def test_every_requirement_is_cited_by_a_test_or_listed_as_not_yet_covered() -> None:
    doc = (ROOT / DOC).read_text(encoding="utf-8")
    listed = declared_uncovered(doc)
    uncovered = check(ROOT).uncovered
    assert not uncovered - listed, (
        f"No test cites {sorted(uncovered - listed)}: name a test after it (test_x9_...) or "
        f"cite it in one, or list it under 'Not yet covered by a test' in {DOC}"
    )
    assert not listed - uncovered, (
        f"{sorted(listed - uncovered)} are cited by tests now: take them off "
        f"'Not yet covered by a test' in {DOC}"
    )


# --- the checker itself -----------------------------------------------------------------


def _ids(citations: Iterable[Citation]) -> set[str]:
    return {c.first if c.first == c.last else f"{c.first}-{c.last}" for c in citations}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1  # One message for every failure (A3, K2).\n", {"A3", "K2"}),
        ('"""Limits on every document (G1-G3, W4)."""\n', {"G1-G3", "W4"}),
        ("# Documented: a taken email is CONFLICT (SECURITY.md A4\n", {"A4"}),
        ('"""Argon2id and the policy of SECURITY.md A1/A2."""\n', {"A1", "A2"}),
        ('"""SECURITY.md "Tokens and sessions" (S1-S10), end to end."""\n', {"S1-S10"}),
        ("# --- S3 exp and iat, S4 iss and aud -----\n", {"S3", "S4"}),
        ("# A5: >= 128 random bits, stored hashed.\n", {"A5"}),
        ('"""K6 over HTTP: RATE_LIMITED carries retryAfter."""\n', {"K6"}),
        (
            'def f() -> None:\n    """Why.\n\n    K6 over HTTP, and G4: batching."""\n',
            {"K6", "G4"},
        ),
        ('"""Subscriptions: both protocols, resume, W1–W4, slow readers."""\n', {"W1-W4"}),
        ("x = 1  # Information leaks (G6-G8) ------\n", {"G6-G8"}),
        ("x = 1  # beyond the matrix (nobody changes their own role, K4)\n", {"K4"}),
        # Data strings: only the marked forms.
        ('d = "answers CONFLICT (documented exception to SECURITY.md A4: it ..."\n', {"A4"}),
        ('d = "refused (G7); fragment F1 on Query { a }"\n', {"G7"}),
        ('d = f"see docs/security.md K5 for {what}"\n', {"K5"}),
        # Test names.
        ("def test_a4_register_answers_the_same() -> None: ...\n", {"A4"}),
        ("async def test_s10_demotion_applies() -> None: ...\n", {"S10"}),
        ("def test_g1_g3_limits() -> None: ...\n", {"G1", "G3"}),
        ("async def test_F1_150_MiB_is_refused() -> None: ...\n", {"F1"}),
    ],
)
def test_citation_forms_are_recognised(source: str, expected: set[str]) -> None:
    assert _ids(citations_in_python(source)) == expected


@pytest.mark.parametrize(
    "source",
    [
        "query = '{ __type(name: \"Agent\") { ...F0 } }'\n",
        'query = "{ ...F0 }" + fragments + f" fragment F{levels} on Query"\n',
        'content = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode()\n',
        "assert \"filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt\" in disposition\n",
        "x = random.uniform(0.5, 1.0)  # noqa: S311 (jitter)\n",
        "import x  # noqa: F401, E7 (a fixture)\n",
        'algorithm: Literal["HS256", "RS256", "EdDSA"] = "HS256"\n',
        'key = f"{A1}:{B2}"  # E2E, IPv4, K8s, SHA256, UTF-8\n',
        "def test_s3x_prefix() -> None: ...\n",
        "F1 = 3  # a name in code, not a citation\n",
        "call(F1, G2)\n",
        '"""Fragments `fragment F1 on Query` spread `...F2`."""\n',
        '"""Blobs in anything that speaks it: MinIO, Ceph, R2..."""\n',
        "# HTTP/2 (H2 in ALPN) is not used.\n",
    ],
)
def test_non_citations_are_ignored(source: str) -> None:
    assert citations_in_python(source) == set()


def test_ranges_cite_the_defined_ids_between_their_ends() -> None:
    (citation,) = citations_in_python("# (A1-A10)\n")
    assert citation.ids(["A1", "A2", "A8", "A10", "G1"]) == {"A1", "A2", "A8", "A10"}
    assert citation.problem(["A1", "A10"]) is None
    (backwards,) = citations_in_python("# (G3-G1)\n")
    assert backwards.problem(["G1", "G3"]) is not None


def _repository(root: Path, *, kai: str, test: str, doc: str) -> Path:
    (root / "docs").mkdir()
    (root / "kai").mkdir()
    (root / "tests").mkdir()
    (root / DOC).write_text(doc, encoding="utf-8")
    (root / "kai" / "module.py").write_text(kai, encoding="utf-8")
    (root / "tests" / "test_module.py").write_text(test, encoding="utf-8")
    return root


DOC_SAMPLE = """# Security

### G1 — Depth limit
### G7 — No field suggestions in production

## Not yet covered by a test

- `G7` — nothing cites it.
"""


def test_check_passes_a_consistent_repository(tmp_path: Path) -> None:
    root = _repository(
        tmp_path,
        kai='"""Limits (G1)."""\n',
        test="def test_g1_deep_documents_are_refused() -> None: ...\n",
        doc=DOC_SAMPLE,
    )
    assert check(root) == Findings(undefined=[], uncovered={"G7"})
    assert declared_uncovered(DOC_SAMPLE) == {"G7"}


def test_check_reports_a_citation_of_an_undefined_id(tmp_path: Path) -> None:
    root = _repository(
        tmp_path,
        kai='"""Limits (G1); see also SECURITY.md Z9."""\n',
        test="def test_g1_deep() -> None: ...\n\n\ndef test_q9_made_up() -> None: ...\n",
        doc=DOC_SAMPLE,
    )
    assert check(root).undefined == [
        f"kai/module.py:1: Z9 not defined in {DOC}",
        f"tests/test_module.py:4: Q9 not defined in {DOC}",
    ]


def test_check_reports_a_requirement_no_test_cites(tmp_path: Path) -> None:
    root = _repository(
        tmp_path,
        kai='"""Limits (G1), suggestions (G7)."""\n',
        test="def test_nothing_cited() -> None: ...\n",
        doc=DOC_SAMPLE,
    )
    # Citations in kai/ do not make a requirement tested.
    assert check(root).uncovered == {"G1", "G7"}


def test_amazon_s3_is_not_requirement_s3(tmp_path: Path) -> None:
    root = _repository(
        tmp_path,
        kai='"""Blobs in an S3 bucket (S3)."""\n',
        test=(
            "from tests.support.s3_server import S3Server\n\n\n"
            "def test_s3_prefix(s3_server: S3Server) -> None: ...\n"
        ),
        doc="### S3 — exp and iat required\n",
    )
    assert check(root) == Findings(undefined=[], uncovered={"S3"})
