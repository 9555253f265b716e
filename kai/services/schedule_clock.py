"""What time it is for schedules: the system clock, or, for tests that run several
processes through hours of timetable in seconds, a time read from a file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kai.models.base import utcnow


def schedule_clock(path: Path | None) -> Callable[[], datetime]:
    """utcnow, or the ISO 8601 time last written to `path` (KAI_SCHEDULE_CLOCK_FILE, which
    production refuses): every process reading one file sees the same simulated time."""
    if path is None:
        return utcnow
    return lambda: _read(path)


def _read(path: Path) -> datetime:
    moment = datetime.fromisoformat(path.read_text().strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
