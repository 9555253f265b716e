"""Cron and time-zone arithmetic of schedules, with no clock and no database: when a
timetable is due, across daylight-saving changes, and what a timetable may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kai.errors import BadUserInput
from kai.services.schedule_times import check_cron, following_run, next_cron_run, zone

MINUTE = timedelta(minutes=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_a_daily_time_the_spring_jump_skips_runs_at_the_first_minute_after_it() -> None:
    # 2026-03-29: Berlin's clocks go from 02:00 to 03:00; 02:30 does not exist.
    due = next_cron_run("30 2 * * *", BERLIN, after=utc(2026, 3, 28, 12))
    assert due == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert due is not None
    assert next_cron_run("30 2 * * *", BERLIN, after=due) == utc(2026, 3, 30, 0, 30)


def test_a_daily_time_the_autumn_change_repeats_runs_at_both_instants() -> None:
    # 2026-10-25: Berlin's clocks go from 03:00 back to 02:00; 02:30 happens twice.
    first = next_cron_run("30 2 * * *", BERLIN, after=utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert first is not None
    second = next_cron_run("30 2 * * *", BERLIN, after=first)
    assert second == utc(2026, 10, 25, 1, 30)  # 02:30 CET, an hour later
    assert second is not None
    assert next_cron_run("30 2 * * *", BERLIN, after=second) == utc(2026, 10, 26, 1, 30)


def test_fields_are_read_in_the_zone() -> None:
    # 09:00 on weekdays in New York is 14:00 UTC in winter and 13:00 in summer.
    assert next_cron_run("0 9 * * 1-5", NEW_YORK, after=utc(2026, 1, 5, 0)) == utc(2026, 1, 5, 14)
    assert next_cron_run("0 9 * * 1-5", NEW_YORK, after=utc(2026, 7, 6, 0)) == utc(2026, 7, 6, 13)


CRON_FIELDS = st.tuples(
    st.sampled_from(["*", "0", "30", "*/15", "5,35", "0-10/5", "59"]),
    st.sampled_from(["*", "0", "2", "1-3", "*/6", "23"]),
    st.sampled_from(["*", "1", "15", "L", "28-31"]),
    st.sampled_from(["*", "3", "10", "3,10", "*/2"]),
    st.sampled_from(["*", "0", "1-5", "6,0", "5#2"]),
)
ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
)


@settings(max_examples=60, deadline=None)
@given(
    fields=CRON_FIELDS,
    zone_name=ZONES,
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
)
def test_claimed_runs_follow_croniters_own_timetable(
    fields: tuple[str, ...], zone_name: str, start: datetime
) -> None:
    """Each claim computes the next run afresh from the one just due (stateless, as
    processes that share nothing but the row must); the times are croniter's own
    iteration, daylight-saving changes included, none skipped, none repeated."""
    expression = " ".join(fields)
    tz = ZoneInfo(zone_name)
    try:
        check_cron(expression, tz, min_interval=MINUTE, field="cron")
    except BadUserInput:
        assume(False)  # one that never runs (the 31st of a 30-day month)
    start = start.replace(tzinfo=UTC)
    expected = croniter(expression, start.astimezone(tz))
    due = next_cron_run(expression, tz, after=start)
    for _ in range(40):
        want = expected.get_next(datetime).astimezone(UTC)
        assert due == want
        assert due is not None
        due = following_run(cron=expression, tz=tz, due=due, now=due, min_interval=MINUTE)


def test_runs_missed_while_nothing_ran_start_once_then_the_timetable_goes_on_from_now() -> None:
    due = utc(2026, 5, 1, 8, 0)
    back_at = utc(2026, 5, 1, 13, 7, 30)  # five hours of */15 runs were missed
    following = following_run(
        cron="*/15 * * * *", tz=ZoneInfo("UTC"), due=due, now=back_at, min_interval=MINUTE
    )
    assert following == utc(2026, 5, 1, 13, 15)


def test_runs_never_come_closer_than_the_minimum_interval() -> None:
    # An expression stored under a smaller minimum (or that slipped past the check):
    # the claim still spaces its runs.
    following = following_run(
        cron="0,1 * * * *",
        tz=ZoneInfo("UTC"),
        due=utc(2026, 5, 1, 8, 0),
        now=utc(2026, 5, 1, 8, 0, 1),
        min_interval=timedelta(minutes=5),
    )
    assert following == utc(2026, 5, 1, 9, 0)


def test_a_one_off_schedule_has_no_following_run() -> None:
    due = utc(2026, 5, 1)
    assert following_run(cron=None, tz=BERLIN, due=due, now=due, min_interval=MINUTE) is None


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("* * * * * *", "five fields"),
        ("@hourly", "five fields"),
        ("0 0 31 2 *", "never runs"),
        ("0 0 30 2 *", "never runs"),
        ("61 * * * *", "Not a valid"),
        ("*/0 * * * *", "Not a valid"),
        ("H * * * *", "Not a valid"),
    ],
)
def test_what_is_not_a_five_field_cron_that_runs_is_refused(expression: str, why: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        check_cron(expression, BERLIN, min_interval=MINUTE, field="input.cron")
    assert why in refused.value.message
    assert refused.value.extensions["field"] == "input.cron"


def test_a_timetable_more_frequent_than_the_minimum_is_refused() -> None:
    five = timedelta(minutes=5)
    assert check_cron("*/5  *  * * *", BERLIN, min_interval=five, field="f") == "*/5 * * * *"
    for expression in ("* * * * *", "*/2 * * * *", "0,3 * * * *"):
        with pytest.raises(BadUserInput, match="at least 5 min apart"):
            check_cron(expression, BERLIN, min_interval=five, field="f")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_as_a_cron_is_taken_or_refused_with_bad_user_input(text: str) -> None:
    """Never another exception (which would be an INTERNAL_SERVER_ERROR) and never a
    timetable that does not then compute its runs."""
    try:
        normal = check_cron(text, BERLIN, min_interval=MINUTE, field="input.cron")
    except BadUserInput as refused:
        field = refused.extensions["field"]
    else:
        field = None
    if field is not None:
        assert field == "input.cron"
        return
    assert next_cron_run(normal, BERLIN, after=utc(2026, 1, 1)) is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_as_a_zone_is_an_iana_zone_or_refused(text: str) -> None:
    try:
        found = zone(text, field="input.timezone")
    except BadUserInput as refused:
        field = refused.extensions["field"]
    else:
        field = None
    if field is not None:
        assert field == "input.timezone"
        return
    assert found.key == text


@pytest.mark.parametrize(
    "name", ["../../../etc/passwd", "/etc/localtime", "Europe/../UTC", "utc ", "", "Mars/Olympus"]
)
def test_paths_and_made_up_zones_are_refused(name: str) -> None:
    with pytest.raises(BadUserInput):
        zone(name, field="input.timezone")
