"""Figures about how trainees played a scenario, from plain records: rates, points, time, choices, avoided phrases."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Iterable, Mapping, Sequence

from . import phrases
from .model import Reply, Scenario


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt as analysis needs it; `stopped_at` is the node where it ended without passing, if it did."""

    status: str
    outcome: str
    points: int
    seconds: float | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    stopped_at: str | None = None


@dataclass(frozen=True)
class StepRecord:
    """One recorded action: where it was taken, what it was, what it earned."""

    node: str
    action: str
    points: int


@dataclass(frozen=True)
class Bucket:
    """A bar of the points distribution: attempts that scored from `low` to `high`, inclusive."""

    low: int
    high: int
    count: int


@dataclass(frozen=True)
class Summary:
    """The headline figures of a scenario; rates are fractions from 0 to 1, None when nothing to divide by."""

    attempts: int
    finished: int
    passed: int
    failed: int
    completion_rate: float | None
    pass_rate: float | None
    average_points: float | None
    distribution: tuple[Bucket, ...]
    average_skills: Mapping[str, float]
    average_minutes: float | None
    median_minutes: float | None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarise(attempts: Sequence[AttemptRecord], buckets: int = 8) -> Summary:
    """Completion is finished ÷ started; pass rate is passed ÷ finished; points, skills and time over finished ones."""
    finished = [attempt for attempt in attempts if attempt.status == "finished"]
    passed = sum(1 for attempt in finished if attempt.outcome == "passed")
    failed = sum(1 for attempt in finished if attempt.outcome == "failed")
    points = [attempt.points for attempt in finished]
    skills: Counter[str] = Counter()
    for attempt in finished:
        skills.update(attempt.skills)
    minutes = [attempt.seconds / 60 for attempt in finished if attempt.seconds is not None]
    return Summary(
        attempts=len(attempts), finished=len(finished), passed=passed, failed=failed,
        completion_rate=_ratio(len(finished), len(attempts)), pass_rate=_ratio(passed, len(finished)),
        average_points=sum(points) / len(points) if points else None,
        distribution=histogram(points, buckets),
        average_skills={name: total / len(finished) for name, total in sorted(skills.items())},
        average_minutes=sum(minutes) / len(minutes) if minutes else None,
        median_minutes=median(minutes) if minutes else None,
    )


def histogram(values: Sequence[int], buckets: int = 8) -> tuple[Bucket, ...]:
    """Whole-number values in at most `buckets` equal ranges from the lowest to the highest."""
    if not values:
        return ()
    low, high = min(values), max(values)
    width = max(1, -(-(high - low + 1) // buckets))
    counts = Counter((value - low) // width for value in values)
    return tuple(Bucket(low + index * width, min(high, low + (index + 1) * width - 1), counts.get(index, 0))
                 for index in range((high - low) // width + 1))


def choice_counts(steps: Iterable[StepRecord]) -> Counter[tuple[str, str]]:
    """How often each way out of a node was taken: (node, choice id), or (node, "reply") for written replies."""
    return Counter((step.node, "reply" if step.action.startswith("reply:") else step.action) for step in steps)


def regretted_choices(steps: Iterable[StepRecord]) -> Counter[tuple[str, str]]:
    """How often each choice cost points (its feedback carried negative points)."""
    return Counter((step.node, step.action) for step in steps
                   if step.points < 0 and not step.action.startswith("reply:"))


def dropoff(attempts: Iterable[AttemptRecord]) -> Counter[str]:
    """How many attempts stopped (left, or nothing more offered) or failed at each node."""
    return Counter(attempt.stopped_at for attempt in attempts if attempt.stopped_at is not None)


def reply_spec(scenario: Scenario, step_id: str) -> Reply | None:
    """The reply turn at a node or case-study question."""
    if scenario.is_case_study:
        return next((question.reply for question in scenario.questions if question.id == step_id), None)
    node = scenario.nodes.get(step_id)
    return node.reply if node is not None else None


def avoided_phrases(scenario: Scenario, step_id: str, text: str) -> list[str]:
    """The `avoid` phrases a reply at this step hit, the way play scores them (first phrase of each group)."""
    reply = reply_spec(scenario, step_id)
    if reply is None:
        return []
    language = scenario.language
    words = phrases.words(text, language)
    hits = []
    for group in reply.avoid:
        hit = next((phrase for phrase in group.phrases
                    if phrases.matches(phrases.phrase_words(phrase, language), words)), None)
        if hit is not None:
            hits.append(hit)
    return hits
