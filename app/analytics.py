"""Analytics for trainers: how trainees play each scenario and move through each course, in figures and charts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, select

from .attempts import replay
from .catalogue import skill_names
from .content_sync import stored_content
from .engine import analysis
from .engine.branch_map import MapText, Traffic, draw
from .engine.charts import Bar, bar_chart
from .engine.model import Course, Scenario
from .extensions import db
from .models import Attempt, AttemptStep, CourseCompletion, LessonOpen, LibraryEntry
from .models.content import SCENARIO_KINDS

# Analytics replays attempts; past this many, the newest are analysed.
MAX_ATTEMPTS = 5000
TOP = 10


class NotFound(LookupError):
    """No such scenario or course in the library now."""


@dataclass(frozen=True)
class Table:
    """A table shown on the page and downloadable as CSV."""

    name: str
    title: str
    header: tuple[str, ...]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True)
class ScenarioReport:
    """Everything the scenario analytics page shows."""

    scenario: Scenario
    summary: analysis.Summary
    tables: dict[str, Table]
    charts: dict[str, str]
    traffic_map: str | None


@dataclass(frozen=True)
class CourseReport:
    """Everything the course analytics page shows."""

    course: Course
    started: int
    completed: int
    completion_rate: float | None
    tables: dict[str, Table]
    chart: str


@dataclass(frozen=True)
class OverviewRow:
    """One line of the analytics index."""

    content_id: str
    kind: str
    title: str
    attempts: int
    finished: int
    passed: int


def map_text() -> MapText:
    """The branch map's interface words in the reader's language."""
    return MapText(reply=_("Written reply"), taken=_("%(count)s×", count="{count}"),
                   dropoff=_("stopped or failed here: %(count)s", count="{count}"),
                   condition=_("if %(condition)s", condition="{condition}"))


def overview() -> list[OverviewRow]:
    """Every scenario and course in the library with its attempt counts (courses count their completions)."""
    entries = db.session.scalars(select(LibraryEntry).where(LibraryEntry.active.is_(True),
                                                            LibraryEntry.kind.in_((*SCENARIO_KINDS, "course")))).all()
    counts = {row[0]: row[1:] for row in db.session.execute(
        select(Attempt.content_id, func.count(),
               func.sum(case((Attempt.status == "finished", 1), else_=0)),
               func.sum(case((Attempt.outcome == "passed", 1), else_=0))).group_by(Attempt.content_id))}
    completions = dict(db.session.execute(select(CourseCompletion.course_id, func.count())
                                          .group_by(CourseCompletion.course_id)).all())
    rows = []
    for entry in entries:
        if entry.kind == "course":
            done = completions.get(entry.content_id, 0)
            rows.append(OverviewRow(entry.content_id, entry.kind, entry.version.title, 0, done, done))
        else:
            total, finished, passed = counts.get(entry.content_id, (0, 0, 0))
            rows.append(OverviewRow(entry.content_id, entry.kind, entry.version.title, total, finished or 0,
                                    passed or 0))
    return sorted(rows, key=lambda row: (row.kind == "course", row.title.casefold()))


def _current(content_id: str) -> Scenario | Course:
    entry = db.session.scalar(select(LibraryEntry).where(LibraryEntry.content_id == content_id,
                                                         LibraryEntry.active.is_(True)))
    if entry is None:
        raise NotFound("no such scenario or course")
    return stored_content(entry.version)  # type: ignore[return-value]


def _attempt_records(content_id: str) -> tuple[list[analysis.AttemptRecord], dict[int, Scenario]]:
    """Each attempt at a scenario, replayed on its own version to find where it stopped and what it gained."""
    attempts = db.session.scalars(select(Attempt).where(Attempt.content_id == content_id)
                                  .order_by(Attempt.id.desc()).limit(MAX_ATTEMPTS)).all()
    records = []
    versions: dict[int, Scenario] = {}
    for attempt in attempts:
        scenario, playthrough = replay(attempt)
        versions[attempt.id] = scenario
        seconds = ((attempt.finished_at - attempt.started_at).total_seconds()
                   if attempt.finished_at is not None and attempt.status == "finished" else None)
        ended_badly = attempt.status == "abandoned" or attempt.outcome == "failed" or playthrough.stuck
        stopped_at = playthrough.position if ended_badly and not scenario.is_case_study else None
        records.append(analysis.AttemptRecord(attempt.status, attempt.outcome, attempt.points, seconds,
                                              dict(playthrough.skills), stopped_at))
    return records, versions


def _steps(content_id: str, attempt_ids: set[int]) -> list[tuple[int, analysis.StepRecord, str]]:
    rows = db.session.execute(select(AttemptStep.attempt_id, AttemptStep.node, AttemptStep.action,
                                     AttemptStep.points, AttemptStep.answer)
                              .join(Attempt, Attempt.id == AttemptStep.attempt_id)
                              .where(Attempt.content_id == content_id)).all()
    return [(row.attempt_id, analysis.StepRecord(row.node, row.action, row.points), row.answer)
            for row in rows if row.attempt_id in attempt_ids]


def scenario_traffic(content_id: str) -> Traffic:
    """How trainees moved through a role-play: choice counts per edge and drop-off per node."""
    records, versions = _attempt_records(content_id)
    steps = _steps(content_id, set(versions))
    return Traffic(edges=dict(analysis.choice_counts(step for _attempt, step, _answer in steps)),
                   dropoff=dict(analysis.dropoff(records)))


def percent(value: float | None) -> str:
    """A fraction as a whole percentage; a dash when there was nothing to count."""
    return "–" if value is None else f"{100 * value:.0f}%"


def scenario_report(content_id: str) -> ScenarioReport:
    """Figures, charts, tables and the traffic map of one scenario, over every version trainees played."""
    scenario = _current(content_id)
    if not isinstance(scenario, Scenario):
        raise NotFound("not a scenario")
    records, versions = _attempt_records(content_id)
    steps = _steps(content_id, set(versions))
    summary = analysis.summarise(records)
    skills = skill_names()
    choices = {(node.id, choice.id): choice for node in scenario.nodes.values() for choice in node.choices}
    chosen = analysis.choice_counts(step for _attempt, step, _answer in steps if not step.action.startswith("reply:"))
    regretted = analysis.regretted_choices(step for _attempt, step, _answer in steps)

    def choice_row(key: tuple[str, str], count: int) -> tuple[object, ...]:
        choice = choices.get(key)
        return (key[0], key[1], choice.text if choice else "", choice.points if choice else "", count)

    phrase_hits: Counter[tuple[str, str]] = Counter()
    reply_hits: Counter[tuple[str, str, str]] = Counter()
    replies_at: Counter[str] = Counter()
    for attempt_id, step, answer in steps:
        if not step.action.startswith("reply:"):
            continue
        replies_at[step.node] += 1
        hit = analysis.avoided_phrases(versions[attempt_id], step.node, answer)
        for phrase in hit:
            phrase_hits[(step.node, phrase)] += 1
        if hit:
            reply_hits[(" ".join(answer.split()), step.node, ", ".join(hit))] += 1
    tables = {
        "summary": Table("summary", _("Summary"), (_("Figure"), _("Value")), [
            (_("Attempts"), summary.attempts), (_("Finished"), summary.finished), (_("Passed"), summary.passed),
            (_("Failed"), summary.failed), (_("Completion rate"), percent(summary.completion_rate)),
            (_("Pass rate"), percent(summary.pass_rate)),
            (_("Average points"), one_decimal(summary.average_points)),
            (_("Average minutes"), one_decimal(summary.average_minutes)),
            (_("Median minutes"), one_decimal(summary.median_minutes))]),
        "points": Table("points", _("Points distribution"), (_("From"), _("To"), _("Attempts")),
                        [(b.low, b.high, b.count) for b in summary.distribution]),
        "skills": Table("skills", _("Average skill change per finished attempt"), (_("Skill"), _("Average")),
                        [(skills.get(name, name), round(value, 2))
                         for name, value in summary.average_skills.items()]),
        "chosen": Table("chosen", _("Most chosen"), (_("Node"), _("Choice"), _("Text"), _("Points"), _("Times")),
                        [choice_row(key, count) for key, count in chosen.most_common(TOP)]),
        "regretted": Table("regretted", _("Most regretted (cost points)"),
                           (_("Node"), _("Choice"), _("Text"), _("Points"), _("Times")),
                           [choice_row(key, count) for key, count in regretted.most_common(TOP)]),
        "avoid-phrases": Table("avoid-phrases", _("Avoid phrases hit"),
                               (_("Step"), _("Phrase"), _("Replies hitting it"), _("Replies at this step")),
                               [(node, phrase, count, replies_at[node])
                                for (node, phrase), count in phrase_hits.most_common(TOP)]),
        "avoid-replies": Table("avoid-replies", _("Replies that most often hit an avoid phrase"),
                               (_("Reply"), _("Step"), _("Phrases"), _("Times")),
                               [(text, node, hit, count) for (text, node, hit), count in reply_hits.most_common(TOP)]),
        "dropoff": Table("dropoff", _("Where attempts stopped or failed"), (_("Node"), _("Attempts")),
                         sorted(analysis.dropoff(records).items(), key=lambda item: (-item[1], item[0]))),
    }
    charts = {
        "outcomes": bar_chart(_("Outcomes"), [
            Bar(_("Passed"), summary.passed, str(summary.passed)),
            Bar(_("Completed"), summary.finished - summary.passed - summary.failed,
                str(summary.finished - summary.passed - summary.failed)),
            Bar(_("Failed"), summary.failed, str(summary.failed)),
            Bar(_("Not finished"), summary.attempts - summary.finished, str(summary.attempts - summary.finished))]),
        "points": bar_chart(_("Points distribution"), [
            Bar(f"{b.low}–{b.high}" if b.low != b.high else str(b.low), b.count, str(b.count))
            for b in summary.distribution]),
        "chosen": bar_chart(_("Most chosen"), [
            Bar(f"{key[0]} · {key[1]}", count, str(count)) for key, count in chosen.most_common(TOP)]),
    }
    traffic = None
    if not scenario.is_case_study and scenario.nodes:
        traffic = draw(scenario, Traffic(dict(analysis.choice_counts(step for _attempt, step, _answer in steps)),
                                         dict(analysis.dropoff(records))), map_text())
    return ScenarioReport(scenario, summary, tables, charts, traffic)


def one_decimal(value: float | None) -> float | str:
    """A figure rounded to one decimal; a dash when there was nothing to count."""
    return "–" if value is None else round(value, 1)


def course_report(course_id: str) -> CourseReport:
    """How trainees move through a course: who started, who passed each module, who completed it."""
    course = _current(course_id)
    if not isinstance(course, Course):
        raise NotFound("not a course")
    scenario_ids = {module.ref for module in course.modules if module.kind != "lesson"}
    opened = Counter(db.session.scalars(select(LessonOpen.lesson).where(LessonOpen.course_id == course_id)))
    passed = dict(db.session.execute(select(Attempt.content_id, func.count(distinct(Attempt.user_id)))
                                     .where(Attempt.content_id.in_(scenario_ids), Attempt.outcome == "passed")
                                     .group_by(Attempt.content_id)).all())
    starters = set(db.session.scalars(select(LessonOpen.user_id).where(LessonOpen.course_id == course_id)))
    starters |= set(db.session.scalars(select(Attempt.user_id).where(Attempt.content_id.in_(scenario_ids))))
    completed = db.session.scalar(select(func.count()).select_from(CourseCompletion)
                                  .where(CourseCompletion.course_id == course_id)) or 0
    titles = {entry.content_id: entry.version.title for entry in db.session.scalars(
        select(LibraryEntry).where(LibraryEntry.content_id.in_(scenario_ids)))}
    rows = []
    for number, module in enumerate(course.modules, start=1):
        done = opened[module.ref] if module.kind == "lesson" else passed.get(module.ref, 0)
        title = module.title or titles.get(module.ref, module.ref)
        rows.append((number, module.kind, title, done))
    rate = completed / len(starters) if starters else None
    tables = {
        "summary": Table("summary", _("Summary"), (_("Figure"), _("Value")), [
            (_("Trainees who started"), len(starters)), (_("Completed"), completed),
            (_("Completion rate"), percent(rate))]),
        "modules": Table("modules", _("Modules"), (_("Module"), _("Kind"), _("Title"),
                                                   _("Trainees who passed or opened it")), rows),
    }
    chart = bar_chart(_("Trainees who passed or opened each module"),
                      [Bar(f"{number}. {title}", done, str(done)) for number, _kind, title, done in rows])
    return CourseReport(course, len(starters), completed, rate, tables, chart)
