"""The platform's gamification settings read from the app config: time zone, week start, level ladder."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app

from . import clock
from .engine.calendar import WEEKDAYS, local_day, period_start
from .engine.levels import Level, LevelProgress, parse_ladder, progress

PERIODS = ("week", "month")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The configured time zone that days, weeks and months follow."""
    return _zone(str(current_app.config["TIME_ZONE"]))


def first_weekday() -> int:
    """The configured first day of the week, 0 for Monday to 6 for Sunday."""
    return WEEKDAYS.index(str(current_app.config["WEEK_START"]).lower())


def day_of(moment: datetime) -> date:
    """The local calendar day of a moment."""
    return local_day(moment, zone())


def today() -> date:
    """Today's local date by the platform clock."""
    return day_of(clock.now())


def period_of(period: str, moment: datetime) -> date:
    """The first day of the week or month a moment falls in, locally."""
    return period_start(period, day_of(moment), first_weekday())


def ladder() -> tuple[Level, ...]:
    """The configured level ladder (checked when the app starts)."""
    cached = current_app.extensions.get("level_ladder")
    if cached is None:
        cached = current_app.extensions["level_ladder"] = parse_ladder(current_app.config["LEVELS"])
    return cached


def level_for(points: int) -> LevelProgress:
    """Where a points total stands on the ladder."""
    return progress(points, ladder())
