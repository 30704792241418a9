"""Pure rules behind gamification: level ladders, calendar windows and streaks, badge criteria."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.badges import Facts, ScenarioRecord, holds, requirements
from app.engine.calendar import local_day, month_start, period_start, streak, week_start
from app.engine.levels import parse_ladder, progress
from app.engine.model import Criteria
from app.settings import DEFAULT_LEVELS, check_gamification

LADDER = parse_ladder(DEFAULT_LEVELS)


def test_levels_climb_at_their_thresholds_with_a_progress_bar():
    assert progress(0, LADDER).level.name == "Newcomer" and progress(0, LADDER).percent == 0
    halfway = progress(25, LADDER)
    assert (halfway.level.name, halfway.next.name, halfway.percent, halfway.to_next) == ("Newcomer", "Listener", 50, 25)
    assert progress(50, LADDER).level.name == "Listener" and progress(50, LADDER).number == 2
    top = progress(10_000, LADDER)
    assert top.next is None and top.percent == 100 and top.to_next == 0


@given(st.integers(0, 5000))
def test_the_level_is_the_highest_threshold_reached(points):
    reached = progress(points, LADDER)
    assert reached.level.points <= points
    assert reached.next is None or points < reached.next.points
    assert 0 <= reached.percent <= 100


@pytest.mark.parametrize("raw, message", [
    ([], "first level"),
    ([{"name": "A", "points": 5}], "first level"),
    ([{"name": "A", "points": 0}, {"name": "B", "points": 0}], "rise"),
    ([{"name": "", "points": 0}], "name"),
    ([{"name": "A", "points": "ten"}], "whole number"),
])
def test_bad_ladders_are_refused_with_a_reason(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_ladder(raw)


def test_settings_that_cannot_work_stop_the_app_naming_the_setting():
    good = {"TIME_ZONE": "Europe/Istanbul", "WEEK_START": "Monday", "LEVELS": DEFAULT_LEVELS}
    check_gamification(good)
    with pytest.raises(ValueError, match="TIME_ZONE"):
        check_gamification({**good, "TIME_ZONE": "Mars/Olympus"})
    with pytest.raises(ValueError, match="WEEK_START"):
        check_gamification({**good, "WEEK_START": "someday"})
    with pytest.raises(ValueError, match="LEVELS"):
        check_gamification({**good, "LEVELS": [{"name": "x", "points": 3}]})


def test_weeks_start_on_the_configured_day_and_months_on_the_first():
    wednesday = date(2026, 3, 11)
    assert week_start(wednesday, 0) == date(2026, 3, 9)        # Monday
    assert week_start(wednesday, 5) == date(2026, 3, 7)        # Saturday (Iran)
    assert week_start(date(2026, 3, 7), 5) == date(2026, 3, 7)
    assert month_start(wednesday) == date(2026, 3, 1)
    assert period_start("month", wednesday, 0) == date(2026, 3, 1)
    with pytest.raises(ValueError):
        period_start("year", wednesday, 0)


def test_the_local_day_follows_the_time_zone():
    moment = datetime(2026, 3, 8, 21, 30, tzinfo=timezone.utc)
    assert local_day(moment, ZoneInfo("UTC")) == date(2026, 3, 8)
    assert local_day(moment, ZoneInfo("Europe/Istanbul")) == date(2026, 3, 9)
    assert local_day(moment, ZoneInfo("Asia/Tehran")) == date(2026, 3, 9)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 6))
def test_a_week_start_is_the_right_weekday_within_the_last_seven_days(day, first):
    start = week_start(day, first)
    assert start.weekday() == first and 0 <= (day - start).days < 7


def test_streaks_count_days_in_a_row_ending_today_or_yesterday():
    today = date(2026, 3, 10)
    assert streak([], today) == 0
    assert streak([date(2026, 3, 10), date(2026, 3, 9), date(2026, 3, 8)], today) == 3
    assert streak([date(2026, 3, 9), date(2026, 3, 8)], today) == 2          # today not played yet
    assert streak([date(2026, 3, 8)], today) == 0                             # broken
    assert streak([date(2026, 3, 10), date(2026, 3, 8)], today) == 1


RECORDS = (ScenarioRecord("a", True, True, frozenset({"empathy"})), ScenarioRecord("b", True, False, frozenset()),
           ScenarioRecord("c", False, False, frozenset({"empathy"})))


def test_criteria_count_distinct_scenarios_and_every_given_key_must_hold():
    facts = Facts(RECORDS, points=120, skill_totals={"empathy": 4}, courses_done=frozenset({"basics"}),
                  streak_days=2, reviewed=1)
    assert holds(Criteria(completed=3), facts) and not holds(Criteria(completed=4), facts)
    assert holds(Criteria(passed=2), facts) and not holds(Criteria(passed=2, skill_tag="empathy"), facts)
    assert holds(Criteria(perfect=1), facts)
    assert holds(Criteria(points=100, skills={"empathy": 4}), facts)
    assert not holds(Criteria(points=100, skills={"empathy": 5}), facts)
    assert holds(Criteria(course="basics"), facts) and not holds(Criteria(course="other"), facts)
    assert not holds(Criteria(streak_days=3), facts) and holds(Criteria(reviewed=1), facts)
    assert not holds(Criteria(), facts)        # no criteria: never


def test_requirements_report_progress_for_locked_badges():
    found = requirements(Criteria(passed=3, skill_tag="empathy", points=200), Facts(RECORDS, points=120))
    assert [(req.kind, req.have, req.need, req.subject, req.met) for req in found] == [
        ("passed", 1, 3, "empathy", False), ("points", 120, 200, None, False)]

