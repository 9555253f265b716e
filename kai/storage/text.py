"""The searchable text of an uploaded file, and its cutting into passages to embed.

Extraction is blocking (file reads, PDF parsing): callers run it in a thread. It reads no
more of a file than the `max_chars` it returns, so a 100 MiB upload costs bounded memory.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import ijson
from pypdf import PdfReader

INDEXED_TYPES = frozenset({"text/plain", "application/json", "application/pdf"})

# Paragraphs are separated by a line holding nothing but whitespace.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]?\s")
_WHITESPACE = re.compile(r"\s+")


class TextUnavailable(Exception):
    """The file's text cannot be read; the message says why (shown to its owner)."""


def extract_text(path: Path, mime_type: str, *, max_chars: int) -> str:
    """At most `max_chars` characters of the text in the file at `path`."""
    media_type, _, params = mime_type.partition(";")
    media_type = media_type.strip().lower()
    if max_chars <= 0:
        return ""
    if media_type == "text/plain":
        return _plain(path, _charset(params), max_chars)
    if media_type == "application/json":
        return _json(path, max_chars)
    if media_type == "application/pdf":
        return _pdf(path, max_chars)
    raise TextUnavailable(f"Files of type {media_type or 'unknown'} are not searched.")


def chunk_text(text: str, *, size: int = 800, overlap: int = 100) -> list[str]:
    """Passages of about `size` characters, cut where the text breaks naturally.

    A cut falls at the last paragraph break in the second half of the window, else the last
    sentence end, else the last space; only a word longer than half a window is cut inside.
    Each passage after the first starts about `overlap` characters before the previous one
    ended (at a word start), so a sentence cut in two is still whole in one of them.
    Whitespace is normalised: runs become one space, paragraph breaks one blank line.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    overlap = max(0, min(overlap, size // 2))
    text = _normalise(text)
    passages: list[str] = []
    start = 0
    while start < len(text):
        end = start + size
        if end >= len(text):
            passages.append(text[start:])
            break
        cut = _cut(text, start + size // 2, end)
        passages.append(text[start:cut].rstrip())
        start = _next_start(text, start, cut, overlap)
    return passages


def _normalise(text: str) -> str:
    paragraphs = (" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(part for part in paragraphs if part)


def _cut(text: str, low: int, high: int) -> int:
    """Where a passage in text[..high] ends: the best boundary at or after `low`."""
    paragraph = text.rfind("\n\n", low, high)
    if paragraph != -1:
        return paragraph
    sentences = [match.end() - 1 for match in _SENTENCE_END.finditer(text, low, high + 1)]
    if sentences:
        return sentences[-1]
    space = text.rfind(" ", low, high + 1)
    return space if space != -1 else high


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """Where the passage after text[start:cut] begins: about `overlap` characters before `cut`,
    at a sentence start if one is near, else at a word start."""
    target = max(start + 1, cut - overlap)
    low, high = max(start + 1, target - overlap // 2), max(start + 1, cut - overlap // 2)
    starts = [match.end() for match in _SENTENCE_END.finditer(text, low - 1, high)]
    if overlap and starts:
        begin = min(starts, key=lambda at: abs(at - target))
    elif text[target - 1].isspace():
        begin = target
    else:
        # Move to the start of the next word so the passage does not open mid-word.
        space = _WHITESPACE.search(text, target, cut)
        begin = space.end() if space else cut
    while begin < len(text) and text[begin].isspace():
        begin += 1
    return begin


def _charset(params: str) -> str:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                break
    # utf-8-sig also drops a byte-order mark some editors write.
    return "utf-8-sig"


def _plain(path: Path, encoding: str, max_chars: int) -> str:
    with path.open(encoding=encoding, errors="replace", newline=None) as file:
        return file.read(max_chars)


def _json(path: Path, max_chars: int) -> str:
    """A JSON document as lines of `key: value`.

    The raw text embeds worse: braces, quotes and commas become tokens, and repeated keys of
    every record weigh as much as the values that tell records apart. Keys are kept in front
    of their values ("title: Pod crashed") because they say what a value is about.
    """
    parts: list[str] = []
    total = 0
    try:
        with path.open("rb") as file:
            for line in _json_lines(file):
                parts.append(line)
                total += len(line) + 1
                if total >= max_chars:
                    break
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
        # Not valid JSON after all: its raw text is still worth searching.
        return _plain(path, "utf-8", max_chars)
    return "\n".join(parts)[:max_chars]


def _json_lines(file: BinaryIO) -> Iterator[str]:
    key: str | None = None
    for _prefix, event, value in ijson.parse(file, use_float=True):
        if event == "map_key":
            key = str(value)
            continue
        if event in ("string", "number", "boolean"):
            text = str(value).strip()
            if text:
                yield f"{key}: {text}" if key else text
        elif event in ("start_map", "start_array") and key:
            yield f"{key}:"  # a heading for the values nested under it
        key = None


def _pdf(path: Path, max_chars: int) -> str:
    # Given an open file, pypdf seeks to the objects it needs; given a path it would read the
    # whole file into memory first.
    with path.open("rb") as file:
        reader = _pdf_reader(file)
        pages: list[str] = []
        total = 0
        failures = 0
        try:
            page_count = len(reader.pages)
        except Exception as exc:
            raise TextUnavailable(f"The PDF is damaged: {_reason(exc)}") from exc
        for number in range(page_count):
            try:
                page = reader.pages[number].extract_text()
            except Exception:
                # One broken page should not hide the text of the others.
                failures += 1
                continue
            pages.append(page)
            total += len(page) + 2
            if total >= max_chars:
                break
    if failures and failures == page_count:
        raise TextUnavailable("The PDF is damaged: no page could be read.")
    return "\n\n".join(pages)[:max_chars]


def _pdf_reader(file: BinaryIO) -> PdfReader:
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not reader.decrypt(""):
            # Encrypted with an owner password only, a PDF still opens with the empty one.
            raise TextUnavailable("The PDF is protected by a password.")
    except TextUnavailable:
        raise
    except Exception as exc:
        # pypdf raises many kinds of errors (and sometimes plain KeyError, ValueError...) on
        # malformed input; callers need one.
        raise TextUnavailable(f"The PDF is damaged: {_reason(exc)}") from exc
    return reader


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]
