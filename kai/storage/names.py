"""Display names for uploads (F3): shown and sent back in Content-Disposition, never a path."""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 255
FALLBACK_NAME = "file"


def _allowed(char: str) -> bool:
    # Cc: control (NUL, CR, LF...); Cf: format, which holds the bidi overrides
    # (U+202E) that make "exe.txt" read as "txt.exe", and zero-width characters.
    # Cs/Co/Cn: surrogates, private use, unassigned.
    return unicodedata.category(char)[0] != "C"


def sanitise_filename(name: str | None) -> str:
    """A safe display name: the last path segment, no control/format characters,
    no leading dots, at most 255 characters with the extension kept."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(char if _allowed(char) else "_" for char in text)
    text = " ".join(text.split())  # collapse runs of whitespace, trim the ends
    text = text.lstrip(".").strip()
    if not text.strip("_"):
        return FALLBACK_NAME
    if len(text) > MAX_NAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            text = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_NAME_CHARS]
    return text
