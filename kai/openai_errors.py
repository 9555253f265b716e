"""The message in an OpenAI-compatible endpoint's error answer, whatever its dialect."""

from __future__ import annotations

import json
from typing import Any

# What an answer from a user-supplied URL may show its caller: a line, not a page.
MAX_REASON_CHARS = 200


def error_message(raw: bytes, *, max_chars: int) -> str:
    """`{"error": {"message"}}` (OpenAI), `{"error": "..."}` (Ollama), `{"detail"}` (vLLM,
    FastAPI) or `{"message"}`; else the body as text. Empty when there is nothing."""
    message = structured_message(raw)
    if not message:
        message = raw.decode(errors="replace").strip()
    return message[:max_chars]


def structured_message(raw: bytes) -> str:
    """The message of a JSON error object in one of the dialects above; else empty."""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    message: Any = None
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or data.get("detail") or data.get("message")
    return message.strip() if isinstance(message, str) else ""


def short_reason(message: str, *, secret: str | None = None) -> str:
    """`message` as a caller of a user-supplied URL may see it: one line of printable
    characters, at most MAX_REASON_CHARS, without `secret` (some endpoints quote the key
    they refused)."""
    if secret:
        message = message.replace(secret, "[redacted]")
    printable = "".join(char if char.isprintable() else " " for char in message)
    line = " ".join(printable.split())
    if len(line) > MAX_REASON_CHARS:
        line = line[: MAX_REASON_CHARS - 1] + "…"
    return line
