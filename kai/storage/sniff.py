"""What an upload really is, from its bytes: magic numbers, then UTF-8 text, then JSON.

The client's declared type is only a claim (F2): the type stored and served is
the sniffed one, and a declared type the content contradicts is refused. The
sniffer is fed the upload chunk by chunk, so it never holds more than its head.
"""

from __future__ import annotations

import codecs
from collections.abc import Collection, Generator
from typing import Any

import filetype
import ijson

from kai.errors import UnsupportedMediaType

# Enough for every magic number filetype knows.
HEAD_BYTES = 8192
TEXT_PLAIN = "text/plain"
APPLICATION_JSON = "application/json"
# Claims that say nothing: the sniffed type stands.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# The first significant byte of a JSON document.
_JSON_STARTS = frozenset(b'{["-0123456789tfn')
_WHITESPACE = b" \t\r\n"


@ijson.coroutine
def _discard() -> Generator[None, Any, None]:
    while True:
        yield


class ContentSniffer:
    """Feed every chunk, then ask `candidates()`: the types the content qualifies as."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._utf8: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
        self._json: Any = None
        self._json_possible = True
        self._json_started = False

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._utf8 is None:
            return  # already binary: nothing more to learn from the rest
        try:
            self._utf8.decode(chunk)
        except UnicodeDecodeError:
            self._not_text()
            return
        if b"\0" in chunk:  # valid UTF-8, but no text file holds NUL bytes
            self._not_text()
            return
        self._feed_json(chunk)

    def _not_text(self) -> None:
        self._utf8 = None
        self._json_possible = False
        self._json = None

    def _feed_json(self, chunk: bytes) -> None:
        if not self._json_possible:
            return
        if not self._json_started:
            significant = chunk.lstrip(_WHITESPACE)
            if not significant:
                return
            if significant[0] not in _JSON_STARTS:
                self._json_possible = False
                return
            self._json_started = True
            self._json = ijson.basic_parse_coro(_discard())
        try:
            self._json.send(chunk)
        except ijson.JSONError:
            self._json_possible = False
            self._json = None

    def _finish_json(self) -> bool:
        if not (self._json_possible and self._json_started):
            return False
        try:
            self._json.close()
        except ijson.JSONError:
            return False
        return True

    def magic(self) -> str | None:
        """The type the head's magic number names, if any (binary formats)."""
        kind = filetype.guess(bytes(self._head)) if self._head else None
        return str(kind.mime) if kind is not None else None

    def candidates(self) -> list[str]:
        """Most specific first; empty when the content is nothing this sniffer knows."""
        if (magic := self.magic()) is not None:
            return [magic]
        if self._utf8 is None:
            return []
        try:
            self._utf8.decode(b"", final=True)  # a sequence cut off at the end
        except UnicodeDecodeError:
            return []
        return [APPLICATION_JSON, TEXT_PLAIN] if self._finish_json() else [TEXT_PLAIN]


def essence(content_type: str | None) -> str:
    """`Text/Plain; charset=utf-8` -> `text/plain`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decide_type(declared: str | None, candidates: list[str], allowed: Collection[str]) -> str:
    """The type to store: the declared one if the content bears it out, else the sniffed one."""
    claim = essence(declared)
    if not candidates:
        raise UnsupportedMediaType(
            "The file's content is not of a type this server accepts "
            f"(accepted: {', '.join(sorted(allowed))})."
        )
    if claim not in GENERIC_TYPES and claim not in candidates:
        raise UnsupportedMediaType(
            f"The file was declared {claim} but its content is {candidates[0]}."
        )
    chosen = claim if claim in candidates else candidates[0]
    if chosen not in allowed:
        raise UnsupportedMediaType(
            f"{chosen} files are not accepted (accepted: {', '.join(sorted(allowed))})."
        )
    return chosen
