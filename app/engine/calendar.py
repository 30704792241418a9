"""Calendar rules for streaks and weekly or monthly boards, in the platform's own time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Iterable

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day a moment falls on in the given time zone."""
    return moment.astimezone(zone).date()


def week_start(day: date, first_weekday: int) -> date:
    """The first day of the week holding `day`, weeks starting on `first_weekday` (0 = Monday)."""
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


def month_start(day: date) -> date:
    """The first day of the month holding `day`."""
    return day.replace(day=1)


def period_start(period: str, day: date, first_weekday: int) -> date:
    """The start of the `week` or `month` holding `day`."""
    if period == "week":
        return week_start(day, first_weekday)
    if period == "month":
        return month_start(day)
    raise ValueError(f"unknown period {period!r}")


def streak(days: Iterable[date], today: date) -> int:
    """Days in a row with activity, ending today, or yesterday when today has none yet."""
    active = set(days)
    cursor = today if today in active else today - timedelta(days=1)
    count = 0
    while cursor in active:
        count += 1
        cursor -= timedelta(days=1)
    return count
