"""Progress bars for people on a terminal: one line redrawn in place (uploads, downloads,
a task's progress), at most ten times a second; nothing of it when the stream is not a
terminal."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.1


def on_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Bar:
    """`label [#######.......]  45%  note`, fitted to the terminal's width.

    `update(fraction, note)` redraws it (fraction 0..1, None when the total is unknown);
    `close()` ends its line. On a stream that is not a terminal it prints nothing."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.live = on_terminal(self.stream)
        self._drawn = 0.0
        self._shown = False

    def update(self, fraction: float | None, note: str = "", *, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        self._shown = True
        self.stream.write("\r" + self.render(fraction, note) + "\x1b[K")
        self.stream.flush()

    def render(self, fraction: float | None, note: str = "") -> str:
        columns = shutil.get_terminal_size().columns
        percent = "   ?%" if fraction is None else f"{min(max(fraction, 0), 1):5.0%}"
        tail = f" {percent}" + (f"  {note}" if note else "")
        label = self.label if len(self.label) <= columns // 3 else self.label[: columns // 3]
        room = columns - len(label) - len(tail) - 4
        if room < 5:
            return (label + tail)[: columns - 1]
        filled = 0 if fraction is None else round(room * min(max(fraction, 0), 1))
        return f"{label} [{'#' * filled}{'.' * (room - filled)}]{tail}"

    def close(self) -> None:
        if self.live and self._shown:
            self.stream.write("\n")
            self.stream.flush()


def byte_counter(
    bar: Bar, total: int | None, describe: Callable[[float], str]
) -> Callable[[int], None]:
    """A callback that hears bytes done so far and redraws the bar."""

    def heard(done: int) -> None:
        fraction = done / total if total else None
        note = describe(done) + (f"/{describe(total)}" if total else "")
        bar.update(fraction, note, force=bool(total) and done >= (total or 0))

    return heard
