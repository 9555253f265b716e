"""Type from content (F2): magic numbers, UTF-8 text, JSON; the declared type only a claim."""

from __future__ import annotations

import pytest

from kai.config import DEFAULT_MIME_TYPES
from kai.errors import UnsupportedMediaType
from kai.storage.sniff import ContentSniffer, decide_type, essence
from tests.support.files import ELF, JPEG, PDF, PNG, WINDOWS_EXE


def sniff(*chunks: bytes) -> list[str]:
    sniffer = ContentSniffer()
    for chunk in chunks:
        sniffer.feed(chunk)
    return sniffer.candidates()


def decide(content: bytes, declared: str | None) -> str:
    return decide_type(declared, sniff(content), DEFAULT_MIME_TYPES)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, ["image/png"]),
        (PDF, ["application/pdf"]),
        (JPEG, ["image/jpeg"]),
        (b"hello, world\n", ["text/plain"]),
        ("naïve café ✓".encode(), ["text/plain"]),
        (b'{"a": [1, 2, {"b": null}]}', ["application/json", "text/plain"]),
        (b"  [true, false]  \n", ["application/json", "text/plain"]),
        (b"", ["text/plain"]),
        (b"\xff\xfe\x00binary", []),
        (b"text with a NUL \0 byte", []),
        (b'{"unterminated": ', ["text/plain"]),
    ],
)
def test_candidates_come_from_the_content(content: bytes, expected: list[str]) -> None:
    assert sniff(content) == expected


def test_utf8_and_json_split_across_chunks() -> None:
    text = '{"name": "café ✓"}'.encode()
    cut = text.index("é".encode()) + 1  # inside the two-byte sequence
    assert sniff(text[:cut], text[cut:]) == ["application/json", "text/plain"]


def test_a_sequence_cut_off_at_the_end_is_not_text() -> None:
    assert sniff("abc é".encode()[:-1]) == []


def test_executables_are_never_accepted() -> None:
    for content in (ELF, WINDOWS_EXE):
        with pytest.raises(UnsupportedMediaType):
            decide(content, None)
        with pytest.raises(UnsupportedMediaType):
            decide(content, "text/plain")


def test_png_declared_as_pdf_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType, match="declared application/pdf"):
        decide(PNG, "application/pdf")


def test_pdf_declared_as_png_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType, match="declared image/png"):
        decide(PDF, "image/png")


def test_generic_or_missing_claims_take_the_sniffed_type() -> None:
    assert decide(PNG, None) == "image/png"
    assert decide(PNG, "application/octet-stream") == "image/png"
    assert decide(b'{"a": 1}', "") == "application/json"


def test_a_claim_the_content_bears_out_stands() -> None:
    assert decide(b'{"a": 1}', "text/plain; charset=utf-8") == "text/plain"
    assert decide(b'{"a": 1}', "Application/JSON") == "application/json"
    assert decide(b"plain words", "text/plain") == "text/plain"


def test_json_claimed_for_plain_text_is_refused() -> None:
    with pytest.raises(UnsupportedMediaType):
        decide(b"not json at all", "application/json")


def test_types_outside_the_allow_list_are_refused() -> None:
    with pytest.raises(UnsupportedMediaType, match="not accepted"):
        decide_type(None, ["image/png"], ["text/plain"])


def test_essence_drops_parameters_and_case() -> None:
    assert essence("Text/Plain; charset=UTF-8") == "text/plain"
    assert essence(None) == ""
