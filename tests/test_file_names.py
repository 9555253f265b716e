"""Display names are sanitised (F3): never a path, no control or bidi characters, bounded."""

from __future__ import annotations

import pytest

from kai.storage.names import MAX_NAME_CHARS, sanitise_filename


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("a\r\nb.txt", "a__b.txt"),
        ("nul\0byte.txt", "nul_byte.txt"),
        ("invoice\u202etxt.exe", "invoice_txt.exe"),
        ("zero\u200bwidth.txt", "zero_width.txt"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("/", "file"),
        (".hidden", "hidden"),
        ("  spaced   out .txt  ", "spaced out .txt"),
        ("café ✓.txt", "café ✓.txt"),
    ],
)
def test_sanitise(given: str | None, expected: str) -> None:
    assert sanitise_filename(given) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = sanitise_filename("a" * 1000 + ".txt")
    assert len(name) == MAX_NAME_CHARS
    assert name.endswith(".txt")
    assert len(sanitise_filename("b" * 1000)) == MAX_NAME_CHARS
