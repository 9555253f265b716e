"""Text extraction in a process of its own, bounded and timed out (C3).

Parsing a hostile PDF can take seconds of CPU and much memory (a 33 KB one took 16 s),
and pure-Python parsing in a thread still holds the GIL that the event loop needs. A
child process has an address-space limit and a CPU-time limit (setrlimit), is killed
when it outlives its timeout or when the task that waits for it is cancelled, and
whatever it does, the server's own process neither stalls nor grows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from kai.storage.text import TextUnavailable, extract_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractionLimits:
    max_chars: int = 2_000_000
    timeout_seconds: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024


async def extract_text_apart(path: Path, mime_type: str, limits: ExtractionLimits) -> str:
    """`extract_text` in a child process within `limits`; TextUnavailable says why not."""
    cpu_seconds = max(1, int(limits.timeout_seconds + 0.999))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(path),
        mime_type,
        str(limits.max_chars),
        str(limits.memory_bytes),
        str(cpu_seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), limits.timeout_seconds)
    except TimeoutError:
        raise TextUnavailable(
            f"Reading the file's text took longer than {limits.timeout_seconds:g} s."
        ) from None
    finally:
        if child.returncode is None:  # timed out, or the task waiting for it was cancelled
            child.kill()
            await asyncio.shield(child.wait())
    if child.returncode != 0:
        log.warning(
            "text extraction exited %s: %s", child.returncode, err[-2000:].decode(errors="replace")
        )
        raise TextUnavailable(
            "The file's text could not be read within the memory and time allowed."
        )
    answer = json.loads(out)
    if "error" in answer:
        raise TextUnavailable(str(answer["error"]))
    return str(answer["text"])


def _child(arguments: list[str]) -> None:
    path, mime_type, max_chars, memory_bytes, cpu_seconds = arguments
    resource.setrlimit(resource.RLIMIT_AS, (int(memory_bytes), int(memory_bytes)))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 1))
    try:
        answer = {"text": extract_text(Path(path), mime_type, max_chars=int(max_chars))}
    except TextUnavailable as exc:
        answer = {"error": str(exc)}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _child(sys.argv[1:])
