"""When a schedule is due: a five-field cron expression read in an IANA time zone, or
one time. Pure arithmetic, no database, so that it is tested on its own.

Cron is croniter's: day of month and day of week are OR-ed as in Vixie cron; a time
that a daylight-saving jump skips runs at the first existing minute after it, and a
time that the clocks go through twice (autumn) runs at both instants, an hour apart.
Every due time is stored in UTC; the zone only says how the fields are read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

from kai.errors import BadUserInput

MAX_CRON_CHARS = 200
MAX_ZONE_CHARS = 64
# How many upcoming runs of a new timetable are looked at for the minimum interval: a
# cheap check that names the usual mistakes (`* * * * *` under a 5-minute minimum);
# the claim enforces the minimum on every run whatever the expression.
INTERVAL_CHECK_RUNS = 500
_EPSILON = timedelta(microseconds=1)


def zone(name: str, *, field: str) -> ZoneInfo:
    """An IANA zone by name (`Europe/Berlin`, `UTC`); BAD_USER_INPUT naming `field`."""
    # available_timezones() first: ZoneInfo would also open a path-like key.
    if len(name) > MAX_ZONE_CHARS or name not in _zones():
        raise BadUserInput(
            f"{name[:MAX_ZONE_CHARS]!r} is not an IANA time zone (e.g. Europe/Berlin, UTC).",
            field=field,
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadUserInput(f"{name!r} is not an IANA time zone.", field=field) from exc


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def check_cron(expression: str, tz: ZoneInfo, *, min_interval: timedelta, field: str) -> str:
    """The expression, normalised (single spaces), if it is five cron fields that will
    run again and no two of its next runs are closer than `min_interval`."""
    fields = expression.split()
    if len(expression) > MAX_CRON_CHARS or len(fields) != 5:
        raise BadUserInput(
            "A cron expression is five fields: minute hour day-of-month month day-of-week "
            "(e.g. `*/15 * * * *`).",
            field=field,
        )
    normal = " ".join(fields)
    try:
        runs = croniter(normal, datetime.now(tz))
        previous = runs.get_next(datetime)
        for _ in range(INTERVAL_CHECK_RUNS):
            current = runs.get_next(datetime)
            if current.astimezone(UTC) - previous.astimezone(UTC) < min_interval:
                raise BadUserInput(
                    f"Runs must be at least {_say(min_interval)} apart; this expression "
                    f"runs at {previous:%H:%M} and {current:%H:%M}.",
                    field=field,
                )
            previous = current
    except CroniterBadDateError as exc:
        raise BadUserInput("This cron expression never runs.", field=field) from exc
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise BadUserInput(f"Not a valid cron expression: {exc}", field=field) from exc
    return normal


def next_cron_run(expression: str, tz: ZoneInfo, *, after: datetime) -> datetime | None:
    """The first time strictly after `after` that the expression names, in UTC; None if
    it never runs again (it was valid when stored: this is defensive)."""
    try:
        found = croniter(expression, after.astimezone(tz)).get_next(datetime)
    except (CroniterBadDateError, CroniterBadCronError, CroniterError):
        return None
    return found.astimezone(UTC)


def following_run(
    *,
    cron: str | None,
    tz: ZoneInfo,
    due: datetime,
    now: datetime,
    min_interval: timedelta,
) -> datetime | None:
    """The run after the one due at `due`, claimed at `now`: the first cron time after
    `now` (runs missed while nothing was running are not made up: one ran, late), and
    never sooner than `min_interval` after `due`. None for a one-off schedule."""
    if cron is None:
        return None
    return next_cron_run(cron, tz, after=max(now, due + min_interval - _EPSILON))


def _say(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
