"""Business hours: intervals per weekday in a time zone, across the clock change, and
holidays; the [queues.NAME.hours] table's problems."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from ivr.hours import BusinessHours, parse_hours

LONDON = {
    "time_zone": "Europe/London",
    "monday": "09:00-17:30",
    "tuesday": "09:00-12:00, 13:00-17:00",
    "saturday": "10:00-24:00",
    "holidays": [date(2026, 12, 25), "2026-12-28"],
}


def parsed(table: dict[str, Any]) -> BusinessHours:
    problems: list[tuple[str, str]] = []
    hours = parse_hours(table, lambda key, reason: problems.append((key, reason)))
    assert problems == []
    assert hours is not None
    return hours


def problems_of(table: Any) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    assert parse_hours(table, lambda key, reason: problems.append((key, reason))) is None
    return problems


def test_the_table_is_read_into_intervals_per_weekday() -> None:
    hours = parsed(LONDON)

    assert hours == BusinessHours(
        "Europe/London",
        {
            0: ((time(9), time(17, 30)),),
            1: ((time(9), time(12)), (time(13), time(17))),
            5: ((time(10), None),),
        },
        frozenset({date(2026, 12, 25), date(2026, 12, 28)}),
    )


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        # Monday 2 March 2026, winter: London is on UTC.
        (datetime(2026, 3, 2, 8, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), True),
        (datetime(2026, 3, 2, 17, 29, tzinfo=UTC), True),
        (datetime(2026, 3, 2, 17, 30, tzinfo=UTC), False),
        # Monday 6 April 2026, summer (BST, UTC+1): the same hours an hour earlier in UTC.
        (datetime(2026, 4, 6, 8, 0, tzinfo=UTC), True),
        (datetime(2026, 4, 6, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 4, 6, 16, 29, tzinfo=UTC), True),
        (datetime(2026, 4, 6, 16, 30, tzinfo=UTC), False),
        # Tuesday's lunch break.
        (datetime(2026, 3, 3, 12, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 3, 13, 0, tzinfo=UTC), True),
        # Wednesday: not listed, closed.
        (datetime(2026, 3, 4, 12, 0, tzinfo=UTC), False),
        # Saturday until midnight, local: 23:59 BST on 4 April is 22:59 UTC...
        (datetime(2026, 4, 4, 22, 59, tzinfo=UTC), True),
        # ...and a minute past local midnight is Sunday, closed.
        (datetime(2026, 4, 4, 23, 1, tzinfo=UTC), False),
        # A time in another zone is the same instant: 10:00 in New York is 14:00 in London.
        (datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5))), True),
        # Holidays: Friday 25 December is closed, and Monday 28 December although it is a Monday.
        (datetime(2026, 12, 28, 10, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 21, 10, 0, tzinfo=UTC), True),
    ],
)
def test_open_by_the_zones_local_time(at: datetime, is_open: bool) -> None:
    assert parsed(LONDON).is_open(at) is is_open


def test_the_day_the_clocks_go_forward_keeps_local_hours() -> None:
    # Sunday 29 March 2026, 01:00 UTC: the clocks go from 01:00 GMT to 02:00 BST.
    hours = parsed({"time_zone": "Europe/London", "sunday": "01:30-02:30"})

    assert not hours.is_open(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))  # 00:59 GMT
    assert hours.is_open(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 02:00 BST
    assert not hours.is_open(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 02:30 BST


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parsed(LONDON).is_open(datetime(2026, 3, 2, 10, 0))


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"monday": "09:00-17:00"}, ("time_zone", "required: an IANA time zone such as Europe/London")),
        (
            {"time_zone": "Mars/Olympus"},
            ("time_zone", "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/London)"),
        ),
        ({"time_zone": "UTC", "monday": "9-17"}, ("monday", "'9-17' is not an interval HH:MM-HH:MM")),
        (
            {"time_zone": "UTC", "friday": "22:00-06:00"},
            ("friday", "'22:00-06:00' must end after it starts (split a shift past midnight over two days)"),
        ),
        (
            {"time_zone": "UTC", "friday": "09:00-25:00"},
            ("friday", "'09:00-25:00': a time is 00:00 to 23:59 (24:00 for an end at midnight)"),
        ),
        (
            {"time_zone": "UTC", "sunday": 9},
            ("sunday", 'must be a string of intervals such as "09:00-12:00,13:00-17:30", not 9'),
        ),
        ({"time_zone": "UTC", "holidays": ["25/12/2026"]}, ("holidays[0]", "'25/12/2026' is not a date (YYYY-MM-DD)")),
        (
            {"time_zone": "UTC", "holidays": "2026-12-25"},
            ("holidays", 'must be a list of dates (2026-12-25 or "2026-12-25")'),
        ),
        (
            {"time_zone": "UTC", "mon": "09:00-17:00"},
            (
                "mon",
                "unknown key (known: time_zone, holidays, monday, tuesday, wednesday, thursday, friday,"
                " saturday, sunday)",
            ),
        ),
        ("09:00-17:00", ("", "must be a table with time_zone, the open weekdays and holidays")),
    ],
)
def test_each_problem_is_reported_under_its_key(table: Any, problem: tuple[str, str]) -> None:
    assert problems_of(table) == [problem]


def test_the_next_opening_skips_closed_days_and_holidays_in_local_time() -> None:
    hours = BusinessHours(
        "America/New_York",
        {0: ((time(9), time(17)),), 2: ((time(9), time(12)), (time(13), time(17)))},
        frozenset({date(2026, 12, 7)}),
    )
    # Saturday 5 Dec, 15:00 UTC: Monday the 7th is a holiday, so Wednesday 9:00 New York.
    saturday = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert hours.next_open(saturday) == datetime(2026, 12, 9, 14, 0, tzinfo=UTC)
    # Wednesday at 12:30 there: the afternoon interval.
    lunch = datetime(2026, 12, 9, 17, 30, tzinfo=UTC)
    assert hours.next_open(lunch) == datetime(2026, 12, 9, 18, 0, tzinfo=UTC)
    # Open already: now.
    assert hours.next_open(datetime(2026, 12, 9, 15, 0, tzinfo=UTC)) == datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
    assert BusinessHours("UTC").next_open(saturday) is None
