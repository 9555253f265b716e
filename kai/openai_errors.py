"""The message in an OpenAI-compatible endpoint's error answer, whatever its dialect."""

from __future__ import annotations

import json
from typing import Any


def error_message(raw: bytes, *, max_chars: int) -> str:
    """`{"error": {"message"}}` (OpenAI), `{"error": "..."}` (Ollama), `{"detail"}` (vLLM,
    FastAPI) or `{"message"}`; else the body as text. Empty when there is nothing."""
    message: Any = None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or data.get("detail") or data.get("message")
    if not isinstance(message, str) or not message.strip():
        message = raw.decode(errors="replace").strip()
    return str(message)[:max_chars]
