"""Business hours: the open intervals of each weekday in one IANA time zone, and holidays
(closed all day), read from a ``[queues.NAME.hours]`` table. Decided in the zone's local
time, so the clock change moves the hours with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Problem = Callable[[str, str], None]
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INTERVAL = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")
# "24:00" ends an interval at midnight; a time of day cannot say it, so the interval's end
# is kept as None (open until the day ends).
_MIDNIGHT = (24, 0)

Interval = tuple[time, time | None]


@dataclass(frozen=True)
class BusinessHours:
    time_zone: str
    # Weekday (0 = Monday) -> open intervals, start included, end excluded (None: midnight).
    # A day absent is closed.
    week: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def is_open(self, at: datetime) -> bool:
        if at.tzinfo is None:
            raise ValueError("business hours need an aware datetime (which instant is meant?)")
        local = at.astimezone(ZoneInfo(self.time_zone))
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (end is None or now < end) for start, end in self.week.get(local.weekday(), ()))

    def next_open(self, at: datetime) -> datetime | None:
        """``at`` if open then, else when the hours next open (within a year of holidays
        and closed days); None if they never do."""
        if self.is_open(at):
            return at
        zone = ZoneInfo(self.time_zone)
        local = at.astimezone(zone)
        for offset in range(_LOOK_AHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _ in sorted(self.week.get(day.weekday(), ())):
                opening = datetime.combine(day, start, zone)
                if opening > local:
                    return opening.astimezone(at.tzinfo)
        return None


# How far ahead an opening is looked for: a year of closed days is a queue that never opens.
_LOOK_AHEAD_DAYS = 366


def parse_hours(table: Any, problem: Problem) -> BusinessHours | None:
    """The hours ``table`` describes: ``time_zone`` (IANA), a key per open weekday
    (``monday = "09:00-12:00,13:00-17:30"``) and ``holidays`` (dates). Problems are
    reported with the key they are under; None when there was any."""
    if not isinstance(table, dict):
        problem("", "must be a table with time_zone, the open weekdays and holidays")
        return None
    count = _Counted(problem)
    for key in set(table) - {"time_zone", "holidays", *DAYS}:
        count(key, f"unknown key (known: time_zone, holidays, {', '.join(DAYS)})")
    zone = _zone(table.get("time_zone"), count)
    week = {}
    for weekday, day in enumerate(DAYS):
        if day in table:
            intervals = _intervals(day, table[day], count)
            if intervals:
                week[weekday] = intervals
    holidays = _holidays(table.get("holidays", []), count)
    if count.problems or zone is None:
        return None
    return BusinessHours(zone, week, holidays)


@dataclass
class _Counted:
    """The caller's ``problem``, counting: the hours are given only when nothing was wrong."""

    report: Problem
    problems: int = 0

    def __call__(self, key: str, reason: str) -> None:
        self.problems += 1
        self.report(key, reason)


def _zone(name: Any, problem: Problem) -> str | None:
    if not isinstance(name, str) or not name:
        problem("time_zone", "required: an IANA time zone such as Europe/London")
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem("time_zone", f"unknown time zone {name!r} (an IANA name such as Europe/London)")
        return None
    return name


def _intervals(day: str, value: Any, problem: Problem) -> tuple[Interval, ...]:
    if not isinstance(value, str):
        problem(day, f'must be a string of intervals such as "09:00-12:00,13:00-17:30", not {value!r}')
        return ()
    intervals: list[Interval] = []
    for part in (piece.strip() for piece in value.split(",")):
        if not part:
            continue  # "" is a closed day
        match = _INTERVAL.fullmatch(part.replace(" ", ""))
        if not match:
            problem(day, f"{part!r} is not an interval HH:MM-HH:MM")
            continue
        start_hm = (int(match[1]), int(match[2]))
        end_hm = (int(match[3]), int(match[4]))
        if not _is_time(start_hm) or not (_is_time(end_hm) or end_hm == _MIDNIGHT):
            problem(day, f"{part!r}: a time is 00:00 to 23:59 (24:00 for an end at midnight)")
        elif end_hm <= start_hm:
            problem(day, f"{part!r} must end after it starts (split a shift past midnight over two days)")
        else:
            end = None if end_hm == _MIDNIGHT else time(*end_hm)
            intervals.append((time(*start_hm), end))
    return tuple(sorted(intervals, key=lambda interval: interval[0]))


def _is_time(hours_minutes: tuple[int, int]) -> bool:
    return 0 <= hours_minutes[0] <= 23 and 0 <= hours_minutes[1] <= 59


def _holidays(value: Any, problem: Problem) -> frozenset[date]:
    if not isinstance(value, list):
        problem("holidays", 'must be a list of dates (2026-12-25 or "2026-12-25")')
        return frozenset()
    days = set()
    for index, item in enumerate(value):
        day = _date(item)
        if day is None:
            problem(f"holidays[{index}]", f"{item!r} is not a date (YYYY-MM-DD)")
        else:
            days.add(day)
    return frozenset(days)


def _date(item: Any) -> date | None:
    """TOML has dates of its own; a quoted ISO date is taken too."""
    if isinstance(item, datetime):
        return None  # an instant, not a day
    if isinstance(item, date):
        return item
    if isinstance(item, str):
        try:
            return date.fromisoformat(item)
        except ValueError:
            return None
    return None
