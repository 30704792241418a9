"""Benchmark of the leaderboards, dashboard, profile and points pages at scale, alone and under play.

Run from the repository root (pytest never collects it: the file is not named test_*.py):

    python tests/benchmarks/bench_boards.py                      # 10,000 trainees, 1,000,000 ledger rows, both
    python tests/benchmarks/bench_boards.py --db sqlite --quick  # 500 trainees, 20,000 rows, short rounds

For each database it creates a fresh one (SQLite: a file in a temporary folder; PostgreSQL: a new database
`bench_boards_<pid>` on --postgres-url's server, dropped afterwards), migrates it, syncs the bundled library,
and fills it by bulk inserts (executemany on SQLite, COPY on PostgreSQL) with --trainees trainees sharing one
password hash, --rows ledger rows spread over the past year (more of them this month and this week), and
every row derived from them, as the app itself would keep it: each trainee's total and the moment it was
reached, finished attempts and best results (whose improvements are the attempt rows of the ledger), badge
bonuses and mentor bonuses, the week, month, skill and course scores, active days, badges held and the kudos
feed, --teams teams sharing the trainees, and about 5% of trainees hidden from the boards. A sample of
trainees is then checked against the ledger (totals, week and month scores, skill and course scores).

It serves the platform (`gunicorn -w 2 'app:create_app()'`) and bare_app.py the same way, signs in --clients
readers (trainees in the middle of the all-time board who are also on the week, month, course and skill
boards, so every board computes their rank and neighbours) and --clients players (trainees with no points
yet, so their first results move every board), and then:

1. Rounds: for each page in turn, --requests GETs from --clients concurrent readers, each just after as many
   POSTs to the bare endpoint (interleaved: bare, page, bare, page ...). Pages are full pages, as a browser
   loads them: the all-time, week, month, team, course and skill boards (each with the viewer's rank and
   neighbours; the all-time one also as the htmx fragment a filter change swaps in), the dashboard, the
   badges page (/profile), the points history and the kudos feed. Reported per page: the median over rounds
   of page/bare throughput and of bare/page p95; the goal is 0.3.
2. A mixed load for --seconds: --clients clients, each picking at random a play step (90%: an htmx POST of
   a choice through a scenario, moving on to the next scenario at an ending) or a board read (10%, the
   boards in turn). Reported: board reads and play steps per second and p95, the mix's throughput as a
   fraction of the bare endpoint's, and the board p95 under load against the board p95 alone.
3. Reconciliation, on the database: no server error or client error, no error in the server log, every
   trainee's total and reached-at equal to their ledger sum and latest row, and for every player (and a
   sample of the others) week and month scores equal to their ledger rows, skill and course scores equal to
   their best results, best results equal to their best finished attempts, no attempt paid twice, and as
   many steps stored as the server acknowledged.

Exit status: 0 when every check passed on every database, 1 when any failed, 2 when the set-up failed.
The server logs are kept (and their folder printed) when something failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from bench_play import (CLIENT_ERRORS, HERE, PASSWORD, ROOT, SECRET_KEY, Check, Figures, Tally, Trainee,
                        add_server_options, bare_sender, databases, p95, print_checks,
                        run_concurrently, serve, serving_checks, statuses, timed_round, wait_until_answering,
                        workers_label)

GOAL = 0.3
HIDDEN_SHARE = 0.05
WEEK_SHARE, MONTH_SHARE = 0.04, 0.08  # of the ledger rows: this week, and this month before this week
BOARD_SHARE = 0.1  # of the mixed load's requests
SAMPLE = 50  # trainees checked against the ledger after the fill
MY_RANK = 'data-testid="my-rank"'
CHUNK = 20_000


# The fill: every row generated in memory, then loaded in bulk, table by table.


@dataclass(frozen=True)
class Library:
    """What the fill needs from the synced library: scenarios, their versions and skills, courses, badges."""

    versions: dict[str, int]
    titles: dict[str, str]
    skills: dict[str, tuple[str, ...]]
    courses: dict[str, tuple[str, ...]]
    badges: tuple[Any, ...]


@dataclass
class Rows:
    """The generated rows of each table, as tuples in the column order of COLUMNS."""

    tables: dict[str, list[tuple]] = field(default_factory=dict)
    ledger: list[tuple] | Iterator[tuple] = field(default_factory=list)
    course_counts: Counter[str] = field(default_factory=Counter)
    skill_counts: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, row: tuple) -> None:
        """Add one row to a table."""
        self.tables.setdefault(table, []).append(row)


COLUMNS = {
    "users": ("id", "username", "display_name", "password_hash", "role", "active", "session_token",
              "points_total", "points_reached_at", "leaderboard_hidden", "created_at"),
    "teams": ("id", "name", "created_at"),
    "team_members": ("team_id", "user_id"),
    "attempts": ("id", "user_id", "version_id", "skills_version_id", "content_id", "status", "outcome", "ending",
                 "points", "step_count", "actions", "started_at", "finished_at"),
    "best_results": ("user_id", "content_id", "points", "outcome", "attempt_id", "perfect", "skills"),
    "points_ledger": ("id", "user_id", "key", "amount", "reason", "content_id", "attempt_id", "created_at"),
    "period_scores": ("user_id", "period", "starts", "points", "reached_at"),
    "skill_scores": ("user_id", "skill_id", "points", "reached_at"),
    "course_scores": ("user_id", "course_id", "points", "reached_at"),
    "badge_awards": ("user_id", "badge_id", "name", "description", "icon", "awarded_at"),
    "kudos_events": ("id", "user_id", "kind", "ref", "text", "actor_id", "created_at"),
    "activity_days": ("user_id", "day"),
}
SERIAL_TABLES = ("users", "teams", "attempts", "points_ledger", "kudos_events")
ATTEMPT, BADGE, MENTOR = 0, 1, 2


@dataclass(frozen=True)
class Scale:
    """How big a database to fill."""

    trainees: int
    rows: int
    teams: int
    players: int


def row_counts(rng: random.Random, scale: Scale) -> list[int]:
    """Ledger rows per trainee, adding up to scale.rows; the players (the last trainees) have none."""
    ranked = scale.trainees - scale.players
    weights = [rng.uniform(0.1, 1.9) for _ in range(ranked)]
    total = sum(weights)
    counts = [int(scale.rows * weight / total) for weight in weights]
    for index in rng.sample(range(ranked), scale.rows - sum(counts)):
        counts[index] += 1
    return counts + [0] * scale.players


class Generator:
    """Generates a consistent database trainee by trainee: ledger rows first, then everything derived from them."""

    def __init__(self, library: Library, now: datetime, period_of: Callable[[str, datetime], date],
                 day_of: Callable[[datetime], date], seed: int = 4) -> None:
        self.library, self.period_of, self.day_of = library, period_of, day_of
        self.rng = random.Random(seed)
        self.rows = Rows()
        self.now = now.timestamp() - 1
        self.year_ago = (now - timedelta(days=365)).timestamp()
        week, month = (datetime.combine(period_of(period, now), datetime.min.time(), timezone.utc).timestamp()
                       for period in ("week", "month"))
        self.week, self.month = min(week, self.now - 60), min(month, self.now - 60)
        self.courses_of: dict[str, list[str]] = {}
        for course_id, content_ids in library.courses.items():
            for content_id in content_ids:
                self.courses_of.setdefault(content_id, []).append(course_id)
        # The ledger, column by column, in compact arrays: a million tuples would cost far more memory.
        self.l_user, self.l_amount, self.l_kind = array("i"), array("i"), array("b")
        self.l_ref, self.l_time = array("i"), array("d")
        self.l_content: list[str | None] = []
        self.attempt_id = self.kudos_id = 0
        self.active_days: set[tuple[int, date]] = set()

    def moment(self) -> float:
        """When a ledger row was written: this week, this month, or any time in the past year."""
        draw = self.rng.random()
        start = self.week if draw < WEEK_SHARE else self.month if draw < WEEK_SHARE + MONTH_SHARE else self.year_ago
        return self.rng.uniform(start, self.now)

    def kudos(self, user_id: int, kind: str, ref: str, text: str, moment: datetime) -> None:
        """One event of the kudos feed."""
        self.kudos_id += 1
        self.rows.add("kudos_events", (self.kudos_id, user_id, kind, ref, text, None, moment))

    def badge(self, user_id: int, badge: Any, moment: datetime) -> None:
        """A badge held since `moment`, announced in the feed."""
        self.rows.add("badge_awards", (user_id, badge.id, badge.name, badge.description or "", badge.icon, moment))
        self.kudos(user_id, "badge", badge.id, badge.name, moment)

    def trainee(self, user_id: int, count: int, team_id: int, shared_hash: str, created: datetime) -> None:
        """One trainee with `count` ledger rows and every row derived from them."""
        rng, library = self.rng, self.library
        self.rows.add("team_members", (team_id, user_id))
        times = sorted(self.moment() for _ in range(count))
        kinds, improvements, bonuses = self.plan(user_id, count)
        best: dict[str, tuple[int, int, datetime]] = {}  # content id -> (points, attempt id, when)
        periods: dict[tuple[str, date], list] = {}
        next_improvement, next_bonus = iter(improvements), iter(bonuses)
        total, mentor_number, moment = 0, 0, None
        for when, kind in zip(times, kinds):
            moment = datetime.fromtimestamp(when, timezone.utc)
            content_id = None
            if kind == ATTEMPT:
                content_id = next(next_improvement)
                amount = rng.randint(1, 12)
                points = best[content_id][0] + amount if content_id in best else amount
                ref = self.attempt(user_id, content_id, points, moment)
                best[content_id] = (points, ref, moment)
            elif kind == BADGE:
                badge = next(next_bonus)
                amount, ref = badge.points, library.badges.index(badge)
                self.badge(user_id, badge, moment)
            else:
                mentor_number += 1
                amount, ref = rng.randint(1, 5), mentor_number
                if mentor_number % 10 == 1:
                    self.kudos(user_id, "shoutout", f"bonus-{mentor_number}", "Great save on that escalation call!",
                               moment)
            self.ledger(user_id, amount, kind, ref, when, content_id)
            total += amount
            for period in ("week", "month"):
                _add(periods, (period, self.period_of(period, moment)), amount, moment)
        self.rows.add("users", (user_id, f"bench-{user_id:05d}", f"Trainee {user_id:05d}", shared_hash, "trainee",
                                True, secrets.token_urlsafe(24), total, moment, rng.random() < HIDDEN_SHARE, created))
        for (period, starts), (points, reached) in periods.items():
            self.rows.add("period_scores", (user_id, period, starts, points, reached))
        self.results(user_id, best)

    def plan(self, user_id: int, count: int) -> tuple[list[int], list[str], list[Any]]:
        """Which of a trainee's rows improve which scenario's best, pay a badge's bonus or a mentor's, in random order.

        Badges without a bonus have no ledger row: they are awarded here, at some moment of the year."""
        rng, library = self.rng, self.library
        if not count:
            return [], [], []
        played = rng.sample(sorted(library.versions), rng.randint(1, len(library.versions)))
        improvements = [content_id for content_id in played for _ in range(rng.randint(1, 3))]
        improvements = improvements[:max(1, count * 2 // 5)]
        held = rng.sample(library.badges, min(len(library.badges), rng.randint(0, 3)))
        bonuses = [badge for badge in held if badge.points > 0][:count - len(improvements)]
        for badge in held:
            if badge.points <= 0:
                self.badge(user_id, badge, datetime.fromtimestamp(rng.uniform(self.year_ago, self.now), timezone.utc))
        kinds = [ATTEMPT] * len(improvements) + [BADGE] * len(bonuses)
        kinds += [MENTOR] * (count - len(kinds))
        rng.shuffle(kinds)
        rng.shuffle(improvements)
        return kinds, improvements, bonuses

    def attempt(self, user_id: int, content_id: str, points: int, moment: datetime) -> int:
        """A finished attempt that improved the trainee's best to `points`; its id."""
        self.attempt_id += 1
        self.rows.add("attempts", (self.attempt_id, user_id, self.library.versions[content_id], None, content_id,
                                   "finished", "completed", "partial", points, 0, [], moment - timedelta(minutes=6),
                                   moment))
        self.active_days.add((user_id, self.day_of(moment)))
        return self.attempt_id

    def ledger(self, user_id: int, amount: int, kind: int, ref: int, when: float, content_id: str | None) -> None:
        """One ledger row, kept compact until the whole ledger is written in time order."""
        self.l_user.append(user_id)
        self.l_amount.append(amount)
        self.l_kind.append(kind)
        self.l_ref.append(ref)
        self.l_time.append(when)
        self.l_content.append(content_id)

    def results(self, user_id: int, best: dict[str, tuple[int, int, datetime]]) -> None:
        """Best results from the trainee's last improvements, and the skill and course scores they add up to."""
        skills: dict[str, list] = {}
        courses: dict[str, list] = {}
        for content_id, (points, attempt_id, moment) in best.items():
            trained = self.library.skills.get(content_id, ())
            split = {skill: points // len(trained) + (1 if number < points % len(trained) else 0)
                     for number, skill in enumerate(trained)}
            outcome = "passed" if self.rng.random() < 0.7 else "completed"
            self.rows.add("best_results", (user_id, content_id, points, outcome, attempt_id, self.rng.random() < 0.1,
                                           split))
            for skill, value in split.items():
                _add(skills, skill, value, moment)
            for course_id in self.courses_of.get(content_id, []):
                _add(courses, course_id, points, moment)
        for skill, (points, moment) in skills.items():
            self.rows.add("skill_scores", (user_id, skill, points, moment))
            self.rows.skill_counts[skill] += 1
        for course_id, (points, moment) in courses.items():
            self.rows.add("course_scores", (user_id, course_id, points, moment))
            self.rows.course_counts[course_id] += 1

    def finish(self) -> Rows:
        """Every row generated, the ledger (and active days) last."""
        for user_id, day in sorted(self.active_days):
            self.rows.add("activity_days", (user_id, day))
        self.rows.ledger = _ledger_rows(self.l_user, self.l_amount, self.l_kind, self.l_ref, self.l_time,
                                        self.l_content, self.library)
        return self.rows


def _add(scores: dict[Any, list], key: Any, points: int, moment: datetime) -> None:
    """Add points to a running score, which was reached at the latest moment that moved it."""
    score = scores.setdefault(key, [0, moment])
    score[0] += points
    score[1] = max(score[1], moment)


def generate(scale: Scale, library: Library, shared_hash: str, now: datetime,
             period_of: Callable[[str, datetime], date], day_of: Callable[[datetime], date]) -> Rows:
    """Every row of a consistent database of this scale, the ledger last and in time order."""
    generator = Generator(library, now, period_of, day_of)
    for team in range(scale.teams):
        generator.rows.add("teams", (team + 1, f"Team {team + 1:02d}", now))
    for index, count in enumerate(row_counts(generator.rng, scale)):
        generator.trainee(index + 1, count, index % scale.teams + 1, shared_hash, now - timedelta(days=400))
    return generator.finish()


def _ledger_rows(users: array, amounts: array, kinds: array, refs: array, times: array, contents: list[str | None],
                 library: Library) -> Iterator[tuple]:
    """The ledger rows in time order, numbered in that order as the app would have numbered them."""
    for number, index in enumerate(sorted(range(len(users)), key=times.__getitem__), 1):
        user_id, kind, ref = users[index], kinds[index], refs[index]
        content_id = contents[index]
        if kind == ATTEMPT:
            key, reason, attempt_id = f"attempt:{ref}", f"Improved best result: {library.titles[content_id]}", ref
        elif kind == BADGE:
            badge = library.badges[ref]
            key, reason, attempt_id = f"badge:{user_id}:{badge.id}", f"Badge bonus: {badge.name}", None
        else:
            key, reason, attempt_id = f"mentor:{user_id}:{ref}", "Mentor bonus", None
        yield (number, user_id, key, amounts[index], reason, content_id, attempt_id,
               datetime.fromtimestamp(times[index], timezone.utc))


def chunks(rows: Iterable[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    """Rows in lists of at most `size`."""
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_sqlite(path: str, tables: Iterable[tuple[str, Iterable[tuple]]]) -> None:
    """Insert rows with executemany in one transaction, values converted by SQLAlchemy's own SQLite types."""
    import sqlite3

    from sqlalchemy.dialects import sqlite

    from app.extensions import db

    dialect = sqlite.dialect()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("BEGIN IMMEDIATE")
        for name, rows in tables:
            table = db.metadata.tables[name]
            columns = COLUMNS[name]
            processors = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
            convert = [(index, process) for index, process in enumerate(processors) if process is not None]
            statement = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for batch in chunks(rows):
                if convert:
                    converted = []
                    for row in batch:
                        values = list(row)
                        for index, process in convert:
                            if values[index] is not None:
                                values[index] = process(values[index])
                        converted.append(values)
                    batch = converted
                connection.executemany(statement, batch)
        connection.execute("COMMIT")
    finally:
        connection.close()


def load_postgresql(url: str, tables: Iterable[tuple[str, Iterable[tuple]]]) -> None:
    """COPY rows into each table in one transaction, then move the id sequences past them and analyse."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        with connection.cursor() as cursor:
            for name, rows in tables:
                columns = COLUMNS[name]
                json_columns = [index for index, column in enumerate(columns) if column in ("actions", "skills")]
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        if json_columns:
                            row = list(row)
                            for index in json_columns:
                                if row[index] is not None:
                                    row[index] = json.dumps(row[index])
                        copy.write_row(row)
            for name in SERIAL_TABLES:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)")
    # What autovacuum would soon do after such a load: visibility map and planner statistics.
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def library_of(app: Any) -> Library:
    """The synced library's scenarios, courses and badges."""
    from sqlalchemy import select

    from app.attempts import SCENARIO_KINDS
    from app.extensions import db
    from app.models import LibraryEntry
    from app.rewards import library_facts

    with app.app_context():
        facts = library_facts()
        versions = dict(db.session.execute(select(LibraryEntry.content_id, LibraryEntry.version_id).where(
            LibraryEntry.active.is_(True), LibraryEntry.kind.in_(SCENARIO_KINDS))).all())
        versions = {content_id: version for content_id, version in versions.items() if content_id in facts.scenarios}
        return Library(versions, {key: facts.scenarios[key].title for key in versions},
                       {key: tuple(facts.scenarios[key].skills) for key in versions},
                       {course_id: tuple(ref for ref in facts.course_scenarios(course_id) if ref in versions)
                        for course_id in facts.courses},
                       facts.badges)


@dataclass
class Filled:
    """A filled database: its app (for queries), the chosen course and skill boards, and how long it took."""

    app: Any
    course_id: str
    skill_id: str
    seconds: float
    counts: dict[str, int]


def fill(kind: str, url: str, scale: Scale) -> Filled:
    """Migrate, sync the library, fill every table in bulk and check a sample against the ledger."""
    from sqlalchemy import func, select

    from app import clock, create_app
    from app.accounts import hash_password
    from app.content_sync import sync_library
    from app.database import database_url, upgrade_schema
    from app.extensions import db
    from app.game_rules import day_of, period_of

    started = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(url), "SECRET_KEY": SECRET_KEY,
                      "AUTO_MIGRATE": False, "SYNC_ON_START": False})
    upgrade_schema(app)
    with app.app_context():
        sync_library(ROOT, Path(app.static_folder or "static"))
        db.session.remove()
    library = library_of(app)
    with app.app_context():
        # One argon2 hash for everyone: hashing 10,000 passwords would take longer than the rest of the fill.
        rows = generate(scale, library, hash_password(PASSWORD), clock.now(), period_of, day_of)
        generated = time.perf_counter() - started
        print(f"  generated in {generated:.0f} s; loading ...", flush=True)
        order = ["users", "teams", "team_members", "attempts", "best_results"]
        tables = [(name, rows.tables.get(name, [])) for name in order]
        tables.append(("points_ledger", rows.ledger))
        tables += [(name, rows.tables.get(name, [])) for name in COLUMNS if name not in order + ["points_ledger"]]
        if kind == "sqlite":
            load_sqlite(db.engine.url.database, tables)
        else:
            load_postgresql(url, tables)
        counts = {name: db.session.scalar(select(func.count()).select_from(db.metadata.tables[name]))
                  for name in COLUMNS}
        sample = random.Random(1).sample(range(1, scale.trainees + 1), min(SAMPLE, scale.trainees))
        problems = ledger_problems(sample, library)
        db.session.remove()
    if counts["points_ledger"] != scale.rows or counts["users"] != scale.trainees:
        raise AssertionError(f"the fill stored {counts['users']} users and {counts['points_ledger']} ledger rows")
    if problems:
        raise AssertionError("the fill is inconsistent with its ledger:\n  " + "\n  ".join(problems[:20]))
    course_id = rows.course_counts.most_common(1)[0][0]
    skill_id = rows.skill_counts.most_common(1)[0][0]
    return Filled(app, course_id, skill_id, time.perf_counter() - started, counts)


# Consistency with the ledger, for the fill's sample and for the players after the mixed load.


def ledger_problems(user_ids: list[int], library: Library) -> list[str]:
    """How these trainees' cached totals and scores differ from their ledger rows and best results."""
    from sqlalchemy import select

    from app.extensions import db
    from app.game_rules import period_of
    from app.models import BestResult, CourseScore, PeriodScore, PointsEntry, SkillScore, User

    problems: list[str] = []
    holders: dict[str, list[str]] = {}
    for course_id, content_ids in library.courses.items():
        for content_id in content_ids:
            holders.setdefault(content_id, []).append(course_id)
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        entries = db.session.execute(select(PointsEntry.amount, PointsEntry.created_at)
                                     .where(PointsEntry.user_id == user_id)).all()
        total = sum(amount for amount, _ in entries)
        latest = max((created for _, created in entries), default=None)
        if user.points_total != total or not same_moment(user.points_reached_at, latest):
            problems.append(f"user {user_id}: total {user.points_total} at {user.points_reached_at}, "
                            f"ledger {total} at {latest}")
        periods: Counter[tuple[str, date]] = Counter()
        for amount, created in entries:
            for period in ("week", "month"):
                periods[(period, period_of(period, as_utc(created)))] += amount
        stored = Counter({(period, starts): points for period, starts, points in db.session.execute(
            select(PeriodScore.period, PeriodScore.starts, PeriodScore.points).where(PeriodScore.user_id == user_id))})
        if +stored != +periods:
            problems.append(f"user {user_id}: week and month scores differ from the ledger: "
                            f"{sorted(set(stored.items()) ^ set(periods.items()))[:4]}")
        skills: Counter[str] = Counter()
        courses: Counter[str] = Counter()
        for content_id, points, best_skills in db.session.execute(
                select(BestResult.content_id, BestResult.points, BestResult.skills)
                .where(BestResult.user_id == user_id)):
            skills.update(best_skills or {})
            for course_id in holders.get(content_id, []):
                courses[course_id] += points
        stored_skills = Counter(dict(db.session.execute(select(SkillScore.skill_id, SkillScore.points)
                                                        .where(SkillScore.user_id == user_id)).all()))
        stored_courses = Counter(dict(db.session.execute(select(CourseScore.course_id, CourseScore.points)
                                                         .where(CourseScore.user_id == user_id)).all()))
        if +stored_skills != +skills or +stored_courses != +courses:
            problems.append(f"user {user_id}: skills {dict(stored_skills)} vs {dict(skills)}, "
                            f"courses {dict(stored_courses)} vs {dict(courses)}")
    db.session.rollback()
    return problems


def same_moment(one: datetime | None, other: datetime | None) -> bool:
    """Whether two stored moments are equal (SQLite gives them back naive in UTC, PostgreSQL aware)."""
    if one is None or other is None:
        return one is other
    return as_utc(one) == as_utc(other)


def as_utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


# Who reads and who plays


@dataclass
class Reader:
    """A signed-in trainee in the middle of the boards, and the team whose board they may open."""

    trainee: Trainee
    team_id: int


def pick_readers(filled: Filled, count: int) -> list[tuple[str, int]]:
    """Visible trainees ranked near the all-time median who are also on the week, month, course and skill boards."""
    from sqlalchemy import select

    from app import clock
    from app.extensions import db
    from app.game_rules import period_of
    from app.models import CourseScore, PeriodScore, SkillScore, TeamMember, User

    with filled.app.app_context():
        now = clock.now()
        totals = db.session.scalars(select(User.points_total).where(User.points_total > 0)
                                    .order_by(User.points_total)).all()
        median = totals[len(totals) // 2]
        on_period = [User.id.in_(select(PeriodScore.user_id).where(
            PeriodScore.period == period, PeriodScore.starts == period_of(period, now), PeriodScore.points > 0))
            for period in ("week", "month")]
        rows = db.session.execute(
            select(User.username, User.points_total, TeamMember.team_id).join(TeamMember, TeamMember.user_id == User.id)
            .where(User.leaderboard_hidden.is_(False), User.points_total > 0, *on_period,
                   User.id.in_(select(CourseScore.user_id).where(CourseScore.course_id == filled.course_id,
                                                                 CourseScore.points > 0)),
                   User.id.in_(select(SkillScore.user_id).where(SkillScore.skill_id == filled.skill_id,
                                                                SkillScore.points > 0)))).all()
        db.session.remove()
    rows = sorted(rows, key=lambda row: (abs(row.points_total - median), row.username))[:count]
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} trainees are on every board; {count} readers needed")
    return [(row.username, row.team_id) for row in rows]


def pick_players(filled: Filled, count: int) -> list[str]:
    """Trainees without a point yet: every scenario they finish pays, and moves every board."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    with filled.app.app_context():
        names = db.session.scalars(select(User.username).where(User.points_total == 0)
                                   .order_by(User.id.desc()).limit(count)).all()
        db.session.remove()
    if len(names) < count:
        raise RuntimeError(f"only {len(names)} trainees without points; {count} players needed")
    return list(names)


# The pages measured


@dataclass(frozen=True)
class View:
    """One page as a reader loads it; a board must show the reader's own rank."""

    label: str
    path: Callable[[Reader], str]
    board: bool = True
    htmx: bool = False  # only the fragment, as a filter change swaps it in


def views_for(filled: Filled) -> list[View]:
    """Every board (with the viewer's rank and neighbours; one also as a fragment), the dashboard, badges, points
    history and feed."""
    return [
        View("board: all time", lambda reader: "/leaderboards"),
        View("board: all time, fragment", lambda reader: "/leaderboards", htmx=True),
        View("board: this week", lambda reader: "/leaderboards?window=week"),
        View("board: this month", lambda reader: "/leaderboards?window=month"),
        View("board: own team", lambda reader: f"/leaderboards?team={reader.team_id}"),
        View(f"board: course {filled.course_id}", lambda reader: f"/leaderboards?course={filled.course_id}"),
        View(f"board: skill {filled.skill_id}", lambda reader: f"/leaderboards?skill={filled.skill_id}"),
        View("dashboard", lambda reader: "/dashboard", board=False),
        View("profile (badges)", lambda reader: "/profile", board=False),
        View("points history", lambda reader: "/points", board=False),
        View("kudos feed", lambda reader: "/feed", board=False),
    ]


def read(reader: Reader, view: View) -> float | None:
    """Load one page as the reader; count its status; None when the connection failed."""
    tally = reader.trainee.tally
    try:
        reply = reader.trainee.browser.request("GET", view.path(reader), htmx=view.htmx)
    except CLIENT_ERRORS as exc:
        tally.client_errors[type(exc).__name__] += 1
        return None
    tally.statuses[(view.label, reply.status)] += 1
    if reply.status != 200 or (view.board and MY_RANK not in reply.body):
        tally.unexpected[(view.label + (" without the viewer's rank" if reply.status == 200 else ""),
                          reply.status)] += 1
    return reply.seconds


def page_sender(readers: list[Reader], view: View) -> Callable[[int], float | None]:
    """Client `index` loads the page as reader `index`."""
    return lambda index: read(readers[index], view)


# The mixed load


@dataclass
class Mixed:
    """What the mixed load measured."""

    seconds: float
    board: list[float]
    play: list[float]
    bare: Figures
    finished: int = 0

    @property
    def throughput(self) -> float:
        """Timed requests (play steps and board reads) per second."""
        return (len(self.board) + len(self.play)) / self.seconds


def mixed_run(readers: list[Reader], players: list[Trainee], boards: list[View], content_ids: list[str],
              seconds: float, bare: Figures) -> Mixed:
    """Each client plays (moving to the next scenario at an ending) or, one time in ten, reads a board."""
    deadline = time.monotonic() + seconds
    measured: list[tuple[list[float], list[float]]] = [([], []) for _ in players]

    def client(index: int) -> list[float]:
        rng = random.Random(100 + index)
        player, reader = players[index], readers[index]
        board_times, play_times = measured[index]
        turn = next_scenario = index
        while time.monotonic() < deadline:
            if rng.random() < BOARD_SHARE:
                took = read(reader, boards[turn % len(boards)])
                turn += 1
                if took is not None:
                    board_times.append(took)
                continue
            try:
                play_times.append(player.act())
                if player.scene.finished:
                    next_scenario += 1
                    player.start(content_ids[next_scenario % len(content_ids)])
            except CLIENT_ERRORS as exc:
                player.tally.client_errors[type(exc).__name__] += 1
        return []

    wall, _ = run_concurrently([partial(client, index) for index in range(len(players))])
    return Mixed(wall, [t for board, _ in measured for t in board], [t for _, play in measured for t in play], bare,
                 sum(player.tally.finished for player in players))


# Reconciliation


def reconcile(filled: Filled, library: Library, tally: Tally, log: Path, players: list[str],
              steps: int, finished: int) -> tuple[list[Check], list[str]]:
    """What clients saw, what the server logged, and every total and score against the ledger."""
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import AttemptStep, PointsEntry, User

    checks, excerpt = serving_checks(tally, log)
    with filled.app.app_context():
        totals = db.session.execute(text("""
            SELECT u.id FROM users u
            LEFT JOIN (SELECT user_id, SUM(amount) AS total, MAX(created_at) AS latest FROM points_ledger
                       GROUP BY user_id) l ON l.user_id = u.id
            WHERE u.points_total <> COALESCE(l.total, 0) OR (u.points_reached_at IS NULL) <> (l.latest IS NULL)
               OR u.points_reached_at <> l.latest""")).all()
        best_vs_attempts = db.session.execute(text("""
            SELECT b.user_id, b.content_id FROM best_results b
            LEFT JOIN (SELECT user_id, content_id, MAX(points) AS best FROM attempts WHERE status = 'finished'
                       GROUP BY user_id, content_id) m ON m.user_id = b.user_id AND m.content_id = b.content_id
            WHERE m.best IS NULL OR b.points <> m.best""")).all()
        paid_twice = db.session.execute(text("""
            SELECT attempt_id FROM points_ledger WHERE attempt_id IS NOT NULL
            GROUP BY attempt_id HAVING COUNT(*) > 1""")).all()
        player_ids = list(db.session.scalars(select(User.id).where(User.username.in_(players))))
        earned = db.session.scalar(select(func.count()).select_from(PointsEntry)
                                   .where(PointsEntry.user_id.in_(player_ids)))
        sample = random.Random(2).sample(range(1, filled.counts["users"] + 1), min(SAMPLE, filled.counts["users"]))
        problems = ledger_problems(player_ids + [user_id for user_id in sample if user_id not in player_ids], library)
        stored_steps = db.session.scalar(select(func.count()).select_from(AttemptStep))
        db.session.remove()
    return checks + [
        Check("every total = ledger sum, reached at its last row", not totals,
              f"{filled.counts['users']} trainees; {len(totals)} differ"),
        Check("players' and a sample's scores = ledger, best results", not problems,
              "; ".join(problems[:3]) or f"{len(player_ids)} players, {SAMPLE} others"),
        Check("best result = best finished attempt", not best_vs_attempts, f"{len(best_vs_attempts)} differ"),
        Check("no attempt paid twice", not paid_twice, f"{len(paid_twice)} paid twice"),
        Check("steps stored = steps acknowledged", stored_steps == steps,
              f"{stored_steps} stored, {steps} answered 200"),
        Check("the mixed load moved the boards", earned > 0 and finished > 0,
              f"{finished} playthroughs finished, {earned} ledger rows for the players"),
    ], excerpt


# The run for one database


@dataclass
class Outcome:
    """Everything one database's run found."""

    database: str
    fill_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    rounds: dict[str, list[tuple[Figures, Figures]]] = field(default_factory=dict)
    mixed: Mixed | None = None
    tally: Tally = field(default_factory=Tally)
    checks: list[Check] = field(default_factory=list)
    log_excerpt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)


def bench_database(kind: str, url: str, args: argparse.Namespace, logs: Path) -> Outcome:
    """Fill, serve, measure each page, run the mixed load and reconcile one database."""
    scale = Scale(args.trainees, args.rows, args.teams, args.clients)
    outcome = Outcome(kind)
    filled = fill(kind, url, scale)
    outcome.fill_seconds, outcome.counts = filled.seconds, filled.counts
    print(f"  filled in {filled.seconds:.0f} s: "
          + ", ".join(f"{name} {count:,}" for name, count in filled.counts.items()), flush=True)
    if args.fill_only:
        return outcome
    library = library_of(filled.app)
    content_ids = sorted(library.versions)
    readers_named = pick_readers(filled, args.clients)
    players_named = pick_players(filled, args.clients)
    views = views_for(filled)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    app_log, bare_log = logs / f"{kind}-app.log", logs / f"{kind}-bare.log"
    app_server = serve("app:create_app()", ROOT, env, app_log, args.workers, args.threads)
    bare_server = serve("bare_app:create_app()", HERE, env, bare_log, args.workers, args.threads)
    players: list[Trainee] = []
    readers: list[Reader] = []
    try:
        wait_until_answering(app_server, "GET", "/login")
        wait_until_answering(bare_server, "POST", "/step")
        first_scenes: dict = {}
        readers = [Reader(Trainee(app_server.port, name, seed, first_scenes), team_id)
                   for seed, (name, team_id) in enumerate(readers_named)]
        players = [Trainee(app_server.port, name, 1000 + seed, first_scenes) for seed, name in enumerate(players_named)]
        run_concurrently([reader.trainee.sign_in for reader in readers] + [player.sign_in for player in players])
        bare = bare_sender(bare_server.port, args.clients)
        # A warm-up of each (every worker loaded, caches filled), then the timed rounds, interleaved.
        timed_round(max(50, args.requests // 4), args.clients, bare)
        for view in views:
            timed_round(max(50, args.requests // 4), args.clients, page_sender(readers, view))
        for number in range(1, args.rounds + 1):
            line = []
            for view in views:
                bare_figures = timed_round(args.requests, args.clients, bare)
                page_figures = timed_round(args.requests, args.clients, page_sender(readers, view))
                outcome.rounds.setdefault(view.label, []).append((bare_figures, page_figures))
                line.append(f"{page_figures.throughput / bare_figures.throughput:.2f}")
            print(f"  round {number}: page/bare throughput " + " ".join(line), flush=True)

        print(f"  mixed load: {args.clients} clients for {args.seconds:g} s ...", flush=True)
        run_concurrently([partial(player.start, content_ids[index % len(content_ids)])
                          for index, player in enumerate(players)])
        bare_now = timed_round(args.requests, args.clients, bare)
        outcome.mixed = mixed_run(readers, players, [view for view in views if view.board], content_ids,
                                  args.seconds, bare_now)
    finally:
        app_server.stop()
        bare_server.stop()
    steps = sum(player.tally.steps for player in players)
    finished = sum(player.tally.finished for player in players)
    outcome.tally = collect_all([reader.trainee for reader in readers] + players)
    outcome.checks, outcome.log_excerpt = reconcile(filled, library, outcome.tally, app_log, players_named,
                                                    steps, finished)
    with filled.app.app_context():
        from app.extensions import db
        db.engine.dispose()
    return outcome


def collect_all(trainees: list[Trainee]) -> Tally:
    """Every trainee's tally added up."""
    total = Tally()
    for trainee in trainees:
        total.add(trainee.tally)
    return total


# Report


def ratios(rounds: list[tuple[Figures, Figures]]) -> tuple[float, float, float]:
    """Median over rounds of page/bare throughput, of bare/page p95, and the page's median p95."""
    return (statistics.median(page.throughput / bare.throughput for bare, page in rounds),
            statistics.median(bare.p95 / page.p95 for bare, page in rounds),
            statistics.median(page.p95 for _, page in rounds))


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    """Print one database's figures and checks."""
    print(f"\n== {outcome.database}: {outcome.counts.get('users', 0):,} trainees, "
          f"{outcome.counts.get('points_ledger', 0):,} ledger rows, filled in {outcome.fill_seconds:.0f} s; "
          f"{workers_label(args)}, {args.clients} clients, {args.requests} requests per page and round ==")
    if outcome.rounds:
        print(f"  {'page':<28} {'bare req/s':>10} {'page req/s':>10} {'page p95':>9} {'tput page/bare':>15}"
              f" {'p95 bare/page':>14}  goal {GOAL}")
        for label, rounds in outcome.rounds.items():
            throughput, latency, page_p95 = ratios(rounds)
            bare_rate = statistics.median(bare.throughput for bare, _ in rounds)
            page_rate = statistics.median(page.throughput for _, page in rounds)
            verdict = "meets" if min(throughput, latency) >= GOAL else "MISSES"
            print(f"  {label:<28} {bare_rate:>10.1f} {page_rate:>10.1f} {page_p95 * 1000:>7.1f}ms {throughput:>15.3f}"
                  f" {latency:>14.3f}  {verdict}")
    mixed = outcome.mixed
    if mixed is not None and mixed.board:
        alone = statistics.median(ratios(rounds)[2] for label, rounds in outcome.rounds.items()
                                  if label.startswith("board"))
        board_p95, play_p95 = p95(mixed.board), p95(mixed.play)
        print(f"  mixed load, {args.clients} clients, {mixed.seconds:.1f} s: {mixed.throughput:.1f} req/s "
              f"({mixed.throughput / mixed.bare.throughput:.3f} of the bare endpoint's {mixed.bare.throughput:.1f}); "
              f"{len(mixed.play)} play steps ({len(mixed.play) / mixed.seconds:.1f}/s, p95 {play_p95 * 1000:.0f} ms), "
              f"{mixed.finished} playthroughs finished")
        print(f"  board reads under the mixed load: {len(mixed.board)} ({len(mixed.board) / mixed.seconds:.1f}/s), "
              f"p95 {board_p95 * 1000:.0f} ms against {alone * 1000:.0f} ms alone ({board_p95 / alone:.1f}x); "
              f"bare p95 / board p95 = {mixed.bare.p95 / board_p95:.3f}")
    print("  requests: " + statuses(outcome.tally))
    print_checks(outcome.checks, outcome.log_excerpt)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="a small check that everything works: 500 trainees, 20,000 rows, short rounds")
    parser.add_argument("--trainees", type=int, help="trainees (default 10,000; 500 with --quick)")
    parser.add_argument("--rows", type=int, help="ledger rows (default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--teams", type=int, help="teams sharing the trainees (default 20; 5 with --quick)")
    parser.add_argument("--rounds", type=int, help="timed rounds per page (default 3; 1 with --quick)")
    parser.add_argument("--requests", type=int, help="requests per page and round (default 300; 60 with --quick)")
    parser.add_argument("--seconds", type=float, help="length of the mixed load (default 60; 10 with --quick)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, readers and players (default 8)")
    add_server_options(parser, "server and maintenance database where --postgres-name is created and dropped")
    parser.add_argument("--postgres-name", default=f"bench_boards_{os.getpid()}",
                        help="the PostgreSQL database to create (default bench_boards_<pid>)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards, to inspect them")
    parser.add_argument("--fill-only", action="store_true", help="only fill (and check) the databases; implies --keep")
    args = parser.parse_args()
    quick = args.quick
    args.keep = args.keep or args.fill_only
    for name, full, small in (("trainees", 10_000, 500), ("rows", 1_000_000, 20_000), ("teams", 20, 5),
                              ("rounds", 3, 1), ("requests", 300, 60), ("seconds", 60.0, 10.0)):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if min(args.trainees, args.rows, args.teams, args.rounds, args.requests, args.clients, args.workers, args.threads) < 1 \
            or args.seconds <= 0:
        parser.error("every count and --seconds must be positive")
    if args.trainees < 4 * args.clients or args.rows < 10 * args.trainees:
        parser.error("need at least 4 trainees per client and 10 ledger rows per trainee")
    sys.path.insert(0, str(ROOT))  # the platform's `app` package, whatever the working directory
    # A plain kill stops the servers and drops the database too: SystemExit runs the `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))

    scratch = Path(tempfile.mkdtemp(prefix="bench-boards-"))
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        for kind, url, drop in databases(args, scratch, args.postgres_name, args.keep):
            print(f"{kind}: {url}", flush=True)
            try:
                outcomes.append(bench_database(kind, url, args, scratch))
            finally:
                drop()
    except Exception as exc:  # noqa: BLE001 (a set-up failure: say what, keep the logs)
        for outcome in outcomes:
            report(outcome, args)
        print(f"\nset-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"logs and SQLite file kept in {scratch}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        report(outcome, args)
    ok = all(outcome.ok or args.fill_only for outcome in outcomes)
    print(f"\n{'all checks passed' if ok else 'SOME CHECKS FAILED'} in {time.monotonic() - started:.0f} s")
    if ok and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"server logs{' and SQLite file' if args.db != 'postgresql' else ''} kept in {scratch}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
