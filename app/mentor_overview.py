"""A mentor's overview: how each trainee is doing, their rubric averages over time, and where the group slips."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from .charts import LineChart, percent_chart
from .clock import aware
from .content_sync import stored_scenario
from .extensions import db
from .game_rules import day_of
from .mentoring import NotFound, Person, my_trainees, may_see_trainee, trainee_ids
from .models import Attempt, AttemptStep, RetryRequest, Review, User
from .models.play import ACTIVE, FINISHED
from .reviews import RetryView, open_retry_requests, rubric_for

TOP_MISTAKES = 3


@dataclass(frozen=True)
class TraineeRow:
    """One trainee's numbers on the overview."""

    trainee: Person
    finished: int
    passed: int
    reviewed: int
    average_grade: float | None
    open_retries: int

    @property
    def pass_rate(self) -> float | None:
        """Passed attempts as a percentage of finished ones."""
        return 100 * self.passed / self.finished if self.finished else None


def trainee_rows(mentor_id: int) -> list[TraineeRow]:
    """Per trainee the mentor sees: finished and passed attempts, reviews, average grade, open retry requests."""
    people = my_trainees(mentor_id)
    ids = [person.id for person in people]
    if not ids:
        return []
    finished = dict(db.session.execute(select(Attempt.user_id, func.count()).where(
        Attempt.user_id.in_(ids), Attempt.status == FINISHED).group_by(Attempt.user_id)).all())
    passed = dict(db.session.execute(select(Attempt.user_id, func.count()).where(
        Attempt.user_id.in_(ids), Attempt.outcome == "passed").group_by(Attempt.user_id)).all())
    grades = {row.trainee_id: row for row in db.session.execute(
        select(Review.trainee_id, func.count().label("n"), func.sum(Review.score_total).label("total"),
               func.sum(Review.score_max).label("maximum"))
        .where(Review.trainee_id.in_(ids)).group_by(Review.trainee_id))}
    retries = dict(db.session.execute(select(RetryRequest.trainee_id, func.count()).where(
        RetryRequest.trainee_id.in_(ids), RetryRequest.new_attempt_id.is_(None))
        .group_by(RetryRequest.trainee_id)).all())
    rows = []
    for person in people:
        grade = grades.get(person.id)
        average = 100 * grade.total / grade.maximum if grade is not None and grade.maximum else None
        rows.append(TraineeRow(person, finished.get(person.id, 0), passed.get(person.id, 0),
                               grade.n if grade is not None else 0, average, retries.get(person.id, 0)))
    return rows


@dataclass(frozen=True)
class AttemptLine:
    """One of the trainee's attempts on their overview page."""

    id: int
    title: str
    status: str
    outcome: str
    points: int
    started_at: datetime
    grade: str | None


@dataclass(frozen=True)
class TraineeOverview:
    """One trainee in detail: their rubric chart, attempts and open retry requests."""

    trainee: Person
    chart: LineChart
    averages: list[tuple[str, float]]
    attempts: list[AttemptLine]
    retries: list[RetryView]


def trainee_overview(mentor_id: int, trainee_id: int) -> TraineeOverview:
    """A trainee's rubric averages per day and criterion, recent attempts and open retry requests."""
    trainee = db.session.get(User, trainee_id)
    if trainee is None or trainee.role != "trainee" or not may_see_trainee(mentor_id, trainee_id):
        raise NotFound("no such trainee")
    reviews = db.session.execute(select(Review, Attempt).join(Attempt, Attempt.id == Review.attempt_id)
                                 .where(Review.trainee_id == trainee_id).order_by(Review.created_at)).all()
    by_day: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[str, list[float]] = defaultdict(list)
    for review, attempt in reviews:
        day = day_of(aware(attempt.finished_at or attempt.started_at))  # the platform's own calendar day
        for item in rubric_for(stored_scenario(attempt.version)):
            if item.id in (review.scores or {}) and item.max:
                share = 100 * review.scores[item.id] / item.max
                by_day[item.label][day].append(share)
                overall[item.label].append(share)
    series = {label: [(day, sum(values) / len(values)) for day, values in days.items()]
              for label, days in by_day.items()}
    grades = {attempt.id: f"{review.score_total}/{review.score_max}" for review, attempt in reviews}
    attempts = db.session.scalars(select(Attempt).where(Attempt.user_id == trainee_id)
                                  .order_by(Attempt.started_at.desc(), Attempt.id.desc()).limit(50)).all()
    lines = [AttemptLine(a.id, a.version.title, a.status, a.outcome, a.points, aware(a.started_at), grades.get(a.id))
             for a in attempts]
    averages = [(label, round(sum(values) / len(values), 1)) for label, values in overall.items()]
    return TraineeOverview(Person(trainee.id, trainee.username, trainee.display_name), percent_chart(series),
                           averages, lines, open_retry_requests(trainee_id))


@dataclass(frozen=True)
class Mistake:
    """A choice with negative points, or the last step before a failure ending, and how often it happened."""

    node: str
    answer: str
    points: int
    times: int
    ends_in_failure: bool


@dataclass(frozen=True)
class TroubleSpot:
    """Where the group most often goes wrong in one scenario."""

    content_id: str
    title: str
    attempts: int
    failed: int
    mistakes: list[Mistake]


RECENT_ATTEMPTS = 2000


def trouble_spots(mentor_id: int) -> list[TroubleSpot]:
    """Per scenario the mentor's trainees played: the most chosen negative-points steps and failure-leading steps,
    over their most recent ended attempts (so the page stays quick, and current, on a large install)."""
    query = select(Attempt).where(Attempt.status != ACTIVE).order_by(Attempt.id.desc()).limit(RECENT_ATTEMPTS)
    visible = trainee_ids(mentor_id)
    if visible is not None:
        if not visible:
            return []
        query = query.where(Attempt.user_id.in_(visible))
    attempts = db.session.scalars(query).all()
    if not attempts:
        return []
    by_id = {attempt.id: attempt for attempt in attempts}
    counts: dict[str, dict[tuple[str, str], list]] = defaultdict(dict)
    steps = db.session.execute(select(AttemptStep.attempt_id, AttemptStep.number, AttemptStep.node,
                                      AttemptStep.action, AttemptStep.answer, AttemptStep.points)
                               .where(AttemptStep.attempt_id.in_(list(by_id)))).all()
    for step in steps:
        attempt = by_id[step.attempt_id]
        fatal = attempt.outcome == "failed" and step.number == attempt.step_count
        if step.points >= 0 and not fatal:
            continue
        # Replies differ word by word; they are grouped by the turn they answered.
        key = (step.node, "reply:" if step.action.startswith("reply:") else step.action)
        entry = counts[attempt.content_id].setdefault(key, [step.answer, step.points, 0, False])
        entry[2] += 1
        entry[3] = entry[3] or fatal
    spots = []
    for content_id in sorted({attempt.content_id for attempt in attempts}):
        played = [a for a in attempts if a.content_id == content_id]
        latest = max(played, key=lambda a: a.id)
        mistakes = sorted((Mistake(node, answer if not action.startswith("reply:") else "", points, times, fatal)
                           for (node, action), (answer, points, times, fatal) in counts[content_id].items()),
                          key=lambda m: (-m.times, m.points))[:TOP_MISTAKES]
        spots.append(TroubleSpot(content_id, stored_scenario(latest.version).title, len(played),
                                 sum(1 for a in played if a.outcome == "failed"), mistakes))
    return spots
