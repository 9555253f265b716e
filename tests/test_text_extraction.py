"""Text extraction from uploaded files, and its cutting into passages."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from kai.storage.text import INDEXED_TYPES, TextUnavailable, chunk_text, extract_text
from kai.storage.text_process import ExtractionLimits, extract_text_apart

BIG = 20 * 1024 * 1024


def pdf_bytes(pages: list[str], *, junk_bytes: int = 0) -> bytes:
    """A valid PDF written by hand: one Helvetica text line per page, and optionally an
    unreferenced stream of `junk_bytes` that a reader has no reason to load."""
    objects: list[bytes] = []  # object n is objects[n - 1]
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{n} 0 R" for n in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for number, text in zip(page_ids, pages, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {number + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        content = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    if junk_bytes:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (junk_bytes, b"x" * junk_bytes))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def peak_allocated(work: object) -> int:
    assert callable(work)
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# Extraction ---------------------------------------------------------------------------------


def test_indexed_types_are_the_three_extracted() -> None:
    assert frozenset({"text/plain", "application/json", "application/pdf"}) == INDEXED_TYPES


def test_plain_text_is_read_as_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "Grüße aus Köln — naïve café\nsecond line")

    assert extract_text(path, "text/plain", max_chars=1000) == (
        "Grüße aus Köln — naïve café\nsecond line"
    )


def test_invalid_utf8_bytes_are_replaced_and_a_bom_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", b"\xef\xbb\xbfok \xff\xfe then \xc3 more")

    assert extract_text(path, "text/plain", max_chars=1000) == "ok \ufffd\ufffd then \ufffd more"


def test_a_charset_parameter_is_honoured(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "café".encode("latin-1"))

    assert extract_text(path, "text/plain; charset=ISO-8859-1", max_chars=100) == "café"
    # An unknown charset falls back to UTF-8 rather than failing.
    assert extract_text(path, "text/plain; charset=nope", max_chars=100) == "caf\ufffd"


def test_json_becomes_keys_and_values_as_lines(tmp_path: Path) -> None:
    document = {
        "incident": {"title": "Pod crashed", "tags": ["oom", "kubernetes"], "severity": 2},
        "resolved": True,
        "owner": None,
        "notes": "",
    }
    path = write(tmp_path, "a.json", json.dumps(document))

    text = extract_text(path, "application/json", max_chars=1000)

    assert text.splitlines() == [
        "incident:",
        "title: Pod crashed",
        "tags:",
        "oom",
        "kubernetes",
        "severity: 2",
        "resolved: True",
    ]


def test_invalid_json_is_searched_as_its_raw_text(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{"title": "Pod crashed", oops')

    assert extract_text(path, "application/json", max_chars=1000) == (
        '{"title": "Pod crashed", oops'
    )


def test_a_pdf_page_text_is_extracted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.pdf",
        pdf_bytes(["Kubernetes pod crashed (out of memory)", "Second page about invoices"]),
    )

    text = extract_text(path, "application/pdf", max_chars=10_000)

    assert "Kubernetes pod crashed (out of memory)" in text
    assert "Second page about invoices" in text
    assert text.index("Kubernetes") < text.index("Second")


def test_a_pdf_written_by_pypdf_is_extracted(tmp_path: Path) -> None:
    source = write(tmp_path, "in.pdf", pdf_bytes(["Quarterly report for the garden club"]))
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.add_metadata({"/Title": "Report"})
    path = tmp_path / "out.pdf"
    with path.open("wb") as file:
        writer.write(file)

    assert "garden club" in extract_text(path, "application/pdf", max_chars=1000)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\nthis is not a pdf at all",
        b"\x00\x01\x02 random bytes " * 100,
        b"",
    ],
)
def test_a_corrupt_pdf_raises_text_unavailable(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, "bad.pdf", data)

    with pytest.raises(TextUnavailable, match="damaged"):
        extract_text(path, "application/pdf", max_chars=1000)


def test_a_password_protected_pdf_raises_text_unavailable(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(write(tmp_path, "in.pdf", pdf_bytes(["secret"]))))
    writer.encrypt(user_password="hunter2", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as file:
        writer.write(file)

    with pytest.raises(TextUnavailable, match="password"):
        extract_text(path, "application/pdf", max_chars=1000)


def test_an_unknown_type_raises_text_unavailable(tmp_path: Path) -> None:
    path = write(tmp_path, "a.png", b"\x89PNG")

    with pytest.raises(TextUnavailable, match="image/png"):
        extract_text(path, "image/png", max_chars=1000)


def test_max_chars_is_honoured_by_every_type(tmp_path: Path) -> None:
    plain = write(tmp_path, "a.txt", "abcdefghij" * 100)
    document = write(tmp_path, "a.json", json.dumps([f"value {i}" for i in range(100)]))
    pdf = write(tmp_path, "a.pdf", pdf_bytes([f"Page {i} " + "words " * 20 for i in range(20)]))

    assert extract_text(plain, "text/plain", max_chars=25) == "abcdefghij" * 2 + "abcde"
    assert extract_text(document, "application/json", max_chars=20) == "value 0\nvalue 1\nvalu"
    assert len(extract_text(pdf, "application/pdf", max_chars=150)) == 150
    assert extract_text(pdf, "application/pdf", max_chars=150).startswith("Page 0")
    assert extract_text(plain, "text/plain", max_chars=0) == ""


@pytest.mark.parametrize("mime_type", ["text/plain", "application/json", "application/pdf"])
def test_a_large_file_is_read_only_as_far_as_needed(tmp_path: Path, mime_type: str) -> None:
    if mime_type == "text/plain":
        path = write(tmp_path, "big.txt", b"lorem ipsum " * (BIG // 12))
    elif mime_type == "application/json":
        path = write(tmp_path, "big.json", b"[" + b'"lorem ipsum",' * (BIG // 14) + b'"end"]')
    else:
        path = write(tmp_path, "big.pdf", pdf_bytes(["first page"], junk_bytes=BIG))
    assert path.stat().st_size > BIG - 100

    peak = peak_allocated(lambda: extract_text(path, mime_type, max_chars=2000))

    assert peak < 2 * 1024 * 1024


# Chunking -----------------------------------------------------------------------------------


def words_of(text: str) -> list[str]:
    return text.split()


def test_empty_or_blank_text_gives_no_passages() -> None:
    assert chunk_text("") == []
    assert chunk_text(" \n\t\n  ") == []


def test_a_short_text_is_one_passage_with_whitespace_normalised() -> None:
    text = "  Hello\t\tworld,\n  how  are\nyou?\n\n\n\n   Next   paragraph.  "

    assert chunk_text(text) == ["Hello world, how are you?\n\nNext paragraph."]


def test_passages_are_cut_at_paragraph_breaks_when_there_is_one() -> None:
    first = "First paragraph sentence. " * 20  # ~520 characters
    second = "Second paragraph words here. " * 20

    passages = chunk_text(f"{first}\n\n{second}", size=800, overlap=100)

    assert passages[0] == first.strip()
    assert passages[1].endswith(second.strip()[-200:])


def test_passages_are_cut_at_sentence_ends_without_a_paragraph_break() -> None:
    text = " ".join(f"Sentence number {i} has a few words in it." for i in range(100))

    passages = chunk_text(text, size=300, overlap=50)

    assert len(passages) > 5
    for passage in passages:
        assert passage.startswith("Sentence number"), passage[:40]
        assert passage.endswith("in it."), passage[-40:]
        assert len(passage) <= 300


def test_without_sentences_passages_are_cut_between_words() -> None:
    vocabulary = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    text = " ".join(vocabulary[i % 6] + str(i) for i in range(2000))

    passages = chunk_text(text, size=500, overlap=80)

    known = set(text.split())
    for passage in passages:
        assert len(passage) <= 500
        assert set(words_of(passage)) <= known  # no word cut in two
    # Nothing is lost, and consecutive passages overlap by about `overlap` characters.
    assert set(words_of(" ".join(passages))) == known
    for before, after in itertools.pairwise(passages):
        shared = max(n for n in range(len(after) + 1) if before.endswith(after[:n]))
        assert 40 <= shared <= 120, shared


def test_overlap_zero_gives_disjoint_passages_covering_the_text() -> None:
    text = " ".join(f"word{i}" for i in range(1000))

    passages = chunk_text(text, size=200, overlap=0)

    assert " ".join(passages) == text


def test_a_word_longer_than_a_passage_is_cut_where_it_must() -> None:
    text = "short " + "x" * 2000 + " tail"

    passages = chunk_text(text, size=800, overlap=100)

    assert all(len(passage) <= 800 for passage in passages)
    assert "".join(passages).replace(" ", "") == text.replace(" ", "")


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        chunk_text("text", size=0)


@pytest.mark.parametrize(("size", "overlap"), [(120, 20), (200, 60), (300, 0), (800, 100)])
def test_no_passage_holds_runs_of_whitespace(size: int, overlap: int) -> None:
    text = "A  b\t\tc.\r\n\r\n\r\nD\u00a0\u00a0e. " * 300
    text += "\n\n".join("Word " * 15 + "end." for _ in range(40))

    for passage in chunk_text(text, size=size, overlap=overlap):
        assert not re.search(r"[ \t\u00a0]{2}|\n{3}|^\s|\s$", passage), repr(passage)
        assert len(passage) <= size


# --- C3: in a child process, bounded and timed out -------------------------------------


def extraction_children() -> list[int]:
    """This process's children that are text extractions (read from /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if int(fields.get("PPid", "0")) == os.getpid() and b"text_process" in cmdline:
            found.append(int(status.parent.name))
    return found


async def test_C3_text_is_read_by_a_child_process(tmp_path: Path) -> None:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf_bytes(["Quarterly figures are late"]))

    text = await extract_text_apart(path, "application/pdf", ExtractionLimits())

    assert "Quarterly figures are late" in text


async def test_C3_a_child_past_its_timeout_is_killed_and_the_file_is_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.txt"
    path.write_text("plenty of words " * 1000)

    with pytest.raises(TextUnavailable, match="took longer than"):
        await extract_text_apart(path, "text/plain", ExtractionLimits(timeout_seconds=0.001))

    assert extraction_children() == []


async def test_C3_a_child_past_its_memory_limit_ends_and_the_file_is_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.txt"
    path.write_text("plenty of words")

    # Too little address space for the interpreter and its imports: the child fails.
    with pytest.raises(TextUnavailable, match="memory and time allowed"):
        await extract_text_apart(path, "text/plain", ExtractionLimits(memory_bytes=16 * 2**20))

    assert extraction_children() == []


async def test_C3_a_cancelled_extraction_leaves_no_child_behind(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("plenty of words")
    reading = asyncio.ensure_future(extract_text_apart(path, "text/plain", ExtractionLimits()))
    await asyncio.sleep(0.05)  # the child has started

    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading

    assert extraction_children() == []
