"""What the commands print: aligned tables fitted to the terminal and times relative to
now for people; with --json, one JSON document (or JSON lines for a stream) for
programs, the models as the API names their fields."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TextIO

from pydantic import BaseModel

ELLIPSIS = "…"
MIN_WIDTH = 6
GAP = "  "


def plain(value: Any) -> Any:
    """A model (or a list of them) as JSON values, fields named as in the API."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """One JSON document."""
    out = out or sys.stdout
    out.write(json.dumps(plain(value), indent=2, ensure_ascii=False) + "\n")


def emit_line(value: Any, out: TextIO | None = None) -> None:
    """One JSON line of a stream, flushed at once."""
    out = out or sys.stdout
    out.write(json.dumps(plain(value), ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


# --- times and sizes ------------------------------------------------------------------


def when(moment: datetime | None, args: argparse.Namespace | None = None) -> str:
    """`3m ago`, `in 2h`, or ISO 8601 (UTC) with --iso; `-` for none."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if args is not None and getattr(args, "iso", False):
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    seconds = (datetime.now(UTC) - moment).total_seconds()
    ago = seconds >= 0
    seconds = abs(seconds)
    if seconds < 5:
        return "just now"
    for size, unit in ((86400 * 60, None), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size:
            if unit is None:
                return moment.astimezone(UTC).date().isoformat()
            count = f"{int(seconds // size)}{unit}"
            return f"{count} ago" if ago else f"in {count}"
    return "just now"


def size(count: float) -> str:
    """Bytes for people: 512 B, 1.5 KB, 3.2 MB (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"  # pragma: no cover - the loop always returns


# --- tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column: its title, how to read a cell from a row, whether it may be cut short
    with `…` (shrink), and whether it may be left out (optional) when the table is wider
    than the terminal."""

    title: str
    cell: Callable[[Any], Any]
    shrink: bool = False
    optional: bool = False


def terminal_width(out: TextIO) -> int | None:
    """The terminal's width, or None when the output is not a terminal (nothing is cut)."""
    try:
        if not out.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def table(rows: Iterable[Any], columns: Sequence[Column], out: TextIO | None = None) -> int:
    """Prints the rows as aligned columns under their titles; answers how many rows."""
    out = out or sys.stdout
    cells = [[_text(column.cell(row)) for column in columns] for row in rows]
    natural = [
        max([len(column.title), *(len(line[i]) for line in cells)])
        for i, column in enumerate(columns)
    ]
    kept, widths = layout(columns, natural, terminal_width(out))
    for line in [[column.title for column in columns], *cells]:
        fitted = [_cut(line[i], width).ljust(width) for i, width in zip(kept, widths, strict=True)]
        out.write(GAP.join(fitted).rstrip() + "\n")
    return len(cells)


def layout(
    columns: Sequence[Column], natural: list[int], limit: int | None
) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide: all at their natural width when there is no
    limit; else the optional ones are left out, the rightmost first, until cutting the
    shrinkable ones makes the row fit (or none is left to leave out)."""
    kept = list(range(len(columns)))
    while True:
        widths = fit([natural[i] for i in kept], [columns[i].shrink for i in kept], limit)
        total = sum(widths) + len(GAP) * (len(widths) - 1)
        optional = [i for i in kept if columns[i].optional]
        if limit is None or total <= limit or not optional:
            return kept, widths
        kept.remove(optional[-1])


def fit(widths: list[int], shrinkable: list[bool], limit: int | None) -> list[int]:
    """Narrows the widest shrinkable columns, one character at a time, until the row fits
    in `limit` (or none can narrow further)."""
    widths = list(widths)
    if limit is None:
        return widths
    total = sum(widths) + len(GAP) * (len(widths) - 1)
    while total > limit:
        candidates = [i for i, width in enumerate(widths) if shrinkable[i] and width > MIN_WIDTH]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        total -= 1
    return widths


def details(pairs: Sequence[tuple[str, Any]], out: TextIO | None = None) -> None:
    """`key: value` lines, the keys aligned."""
    out = out or sys.stdout
    width = max(len(key) for key, _ in pairs)
    for key, value in pairs:
        out.write(f"{key + ':':<{width + 1}} {_text(value)}\n")


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value.value) if isinstance(value, Enum) else str(value)
    return " ".join(text.split()) if "\n" in text or "\t" in text else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS
