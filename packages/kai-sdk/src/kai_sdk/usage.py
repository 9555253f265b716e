"""This process's memory and CPU use, as fractions 0..1 of what it may use; None when unknown.

Read from /proc and cgroup v2 files (Linux); elsewhere the values are None,
which the server shows as null rather than a guess.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

PROC_STATM = Path("/proc/self/statm")
CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")


def memory_limit() -> int | None:
    """Bytes this process may use: the cgroup limit if there is one, else physical memory."""
    limits: list[int] = []
    try:
        raw = CGROUP_MEMORY_MAX.read_text().strip()
        if raw.isdigit():
            limits.append(int(raw))
    except OSError:
        pass
    with contextlib.suppress(AttributeError, ValueError, OSError):
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    positive = [limit for limit in limits if limit > 0]
    return min(positive) if positive else None


def resident_bytes() -> int | None:
    try:
        pages = int(PROC_STATM.read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def memory_fraction() -> float | None:
    resident, limit = resident_bytes(), memory_limit()
    if resident is None or not limit:
        return None
    return min(1.0, resident / limit)


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class CpuMeter:
    """CPU time this process used since the last sample, over the wall time of all its CPUs."""

    def __init__(self) -> None:
        self._wall = time.monotonic()
        self._cpu = time.process_time()

    def sample(self) -> float | None:
        wall, cpu = time.monotonic(), time.process_time()
        elapsed = wall - self._wall
        if elapsed < 0.01:
            return None
        used = cpu - self._cpu
        self._wall, self._cpu = wall, cpu
        return min(1.0, max(0.0, used / (elapsed * cpu_count())))
