"""Use cases of play: start, resume, restart and advance attempts; every rule checked on the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from .catalogue import skill_names_in
from .content_sync import CATALOGUE_IDS, stored_by_hash, stored_scenario
from .courses import record_completions
from .database import prebuilt, upsert_insert, write
from .direct_sql import DirectStatement
from .engine.model import Scenario
from .engine.play import Action, ActionRefused, Playthrough, Step, play
from .engine.stats import scenario_stats
from .extensions import db
from .models import Attempt, AttemptStep, ContentVersion, LibraryEntry, User
from .models.content import SCENARIO_KINDS
from .models.play import ABANDONED, ACTIVE, FINISHED
from .models.users import utcnow
from .points import BestRead, Finish, best_as_json, record_result
from .reviews import link_retry_requests
from .rewards import (EarnedBadge, after_finish, celebrate_courses, course_titles, courses_holding, library_facts,
                      standing_of)
from .signed_in import SignedInUser, load_signed_in, signed_in_row, signed_in_with

# Each action replays the ones before it, so an endless loop must end somewhere.
MAX_STEPS = 300


ANSWERED_ELSEWHERE = ("This step was already answered in another tab or window. Here is where the attempt "
                      "stands now.")


class NotFound(LookupError):
    """No such attempt or scenario for this trainee (someone else's is "not found" too)."""


class Refused(ValueError):
    """The action is not allowed at this step; nothing was recorded."""


class Conflict(RuntimeError):
    """Another request already moved this attempt on; nothing was recorded."""


@dataclass(frozen=True)
class AttemptView:
    """What the play pages show about an attempt row."""

    id: int
    content_id: str
    status: str
    outcome: str
    points: int
    step_count: int
    version_hash: str  # the content hash of the version played


@dataclass(frozen=True)
class Rewards:
    """What one action earned, for the toasts that announce it."""

    step_points: int = 0
    added_to_total: int = 0
    badges: tuple[EarnedBadge, ...] = ()
    finished_courses: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttemptState:
    """An attempt with its stored scenario version and its replayed playthrough."""

    attempt: AttemptView
    scenario: Scenario
    playthrough: Playthrough
    skill_names: Mapping[str, str]
    rewards: Rewards = field(default_factory=lambda: Rewards())

    @property
    def last_step(self) -> Step | None:
        """The most recent step, whose feedback the scene shows."""
        return self.playthrough.steps[-1] if self.playthrough.steps else None


@dataclass(frozen=True)
class AttemptRow:
    """What play needs of an attempt and of the versions it keeps, read in one query."""

    id: int
    user_id: int
    content_id: str
    status: str
    outcome: str
    points: int
    step_count: int
    actions: tuple[str, ...]
    kind: str
    content_hash: str
    skills_hash: str | None

    def view(self) -> AttemptView:
        """The view of the row as read."""
        return AttemptView(self.id, self.content_id, self.status, self.outcome, self.points, self.step_count,
                           self.content_hash)


_ATTEMPTS = Attempt.__table__
_VERSIONS = ContentVersion.__table__
_SKILLS_VERSIONS = _VERSIONS.alias("skills_versions")
# Built once: building a statement costs more than running it. A play page reads its attempt with the
# signed-in user (below); this alone serves restarts and reads again after a lost race.
_OWNED_ROW = (
    select(_ATTEMPTS.c.id, _ATTEMPTS.c.user_id, _ATTEMPTS.c.content_id, _ATTEMPTS.c.status, _ATTEMPTS.c.outcome,
           _ATTEMPTS.c.points, _ATTEMPTS.c.step_count, _ATTEMPTS.c.actions, _VERSIONS.c.kind,
           _VERSIONS.c.content_hash, _SKILLS_VERSIONS.c.content_hash.label("skills_hash"))
    .join_from(_ATTEMPTS, _VERSIONS, _VERSIONS.c.id == _ATTEMPTS.c.version_id)
    .outerjoin(_SKILLS_VERSIONS, _SKILLS_VERSIONS.c.id == _ATTEMPTS.c.skills_version_id)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id")))
# By primary key alone, so PostgreSQL never walks all of a trainee's attempts whatever its statistics say
# (it ties the user_id index with the key when they are missing); the owner is checked on the row.
_OWNED_ROW_DIRECT = DirectStatement(lambda: _OWNED_ROW)


def _signed_in_and_owned_row() -> Any:
    """The signed-in user's row with the attempt row the URL names beside it (NULLs when there is none).

    Whose attempt it is gets checked on the row (`_owned`), for the same reason as `_OWNED_ROW`.
    """
    users = User.__table__
    named = (_ATTEMPTS.join(_VERSIONS, _VERSIONS.c.id == _ATTEMPTS.c.version_id)
             .outerjoin(_SKILLS_VERSIONS, _SKILLS_VERSIONS.c.id == _ATTEMPTS.c.skills_version_id))
    return signed_in_row().add_columns(*_OWNED_ROW.selected_columns).select_from(
        users.outerjoin(named, _ATTEMPTS.c.id == bindparam("attempt_id")))


_SIGNED_IN_AND_OWNED_ROW = DirectStatement(_signed_in_and_owned_row)
# Session.info key: (user id, attempt id, the owned row's columns or None), read with the signed-in user.
_PRE_READ = "attempt_read_with_user"
_STEPS = AttemptStep.__table__
_STEP_COLUMNS = ("attempt_id", "number", "node", "action", "answer", "points", "skills", "feedback", "shown",
                 "created_at")
# The guard of every recorded step: the attempt is still running and still at the step before this one.
_MOVE_ON_STATEMENT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.step_count == bindparam("previous"),
           _ATTEMPTS.c.status == ACTIVE)
    .values(step_count=bindparam("number"), points=bindparam("total"), actions=bindparam("recorded")))
# What finishing sets, from the values `_finishing` gives.
_FINISHING = {"status": FINISHED, "outcome": bindparam("new_outcome"), "ending": bindparam("new_ending"),
              "finished_at": bindparam("moment"), "needs_review": bindparam("review")}
# The same guard for a step that ends the attempt: it moves on and finishes in one UPDATE.
_MOVE_ON_AND_FINISH_STATEMENT = _MOVE_ON_STATEMENT.values(**_FINISHING)
_MOVE_ON = DirectStatement(lambda: _MOVE_ON_STATEMENT)
_MOVE_ON_AND_FINISH = DirectStatement(lambda: _MOVE_ON_AND_FINISH_STATEMENT)
_RECORD_STEP = DirectStatement(lambda: insert(_STEPS).values({name: bindparam(name) for name in _STEP_COLUMNS}))


def _and_record(move_on: Any) -> Any:
    """PostgreSQL: a guarded UPDATE of the attempt and the INSERT of its step in one statement.

    No step is stored when the guard fails.
    """
    moved = move_on.returning(_ATTEMPTS.c.id).cte("moved")
    values = [moved.c.id, *(bindparam(name, type_=_STEPS.c[name].type) for name in _STEP_COLUMNS[1:])]
    return insert(_STEPS).add_cte(moved).from_select(list(_STEP_COLUMNS), select(*values))


def _and_record_returning_best(move_on: Any) -> Any:
    """PostgreSQL, at an ending: `_and_record`, returning the trainee's best for the scenario as it stood.

    One row when the step was stored, holding [points, outcome, perfect, skills] or NULL when there is no
    best yet: the finish needs it next, and so it costs no round trip of its own.
    """
    return _and_record(move_on).returning(best_as_json().label("best"))


_MOVE_ON_AND_RECORD = DirectStatement(lambda: _and_record(_MOVE_ON_STATEMENT))
_MOVE_ON_FINISH_AND_RECORD = DirectStatement(lambda: _and_record_returning_best(_MOVE_ON_AND_FINISH_STATEMENT))

_FINISH = (update(_ATTEMPTS).where(_ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.status == ACTIVE)
           .values(points=bindparam("new_points"), **_FINISHING))


def signed_in_with_attempt(user_id: int, token: str, view_args: Mapping[str, Any]) -> SignedInUser | None:
    """Load the signed-in user and the attempt their URL names in one statement; the attempt waits for `_owned_row`."""
    attempt_id = view_args.get("attempt_id")
    if not isinstance(attempt_id, int):
        return load_signed_in(user_id, token)
    found = signed_in_with(_SIGNED_IN_AND_OWNED_ROW, user_id, token, {"attempt_id": attempt_id})
    if found is None:
        return None
    user, named = found
    db.session.info[_PRE_READ] = (user_id, attempt_id, _owned(named, user_id))
    return user


def _owned(row: Sequence[Any] | None, user_id: int) -> Sequence[Any] | None:
    """The attempt row if it exists and belongs to this user, else None."""
    return row if row is not None and row[0] is not None and row[1] == user_id else None


def _owned_row(user_id: int, attempt_id: int) -> AttemptRow:
    # Taken once: a second read in the same request (after a lost race, say) goes to the database.
    read = db.session.info.pop(_PRE_READ, None)
    if read is not None and read[:2] == (user_id, attempt_id):
        row = read[2]
    else:
        row = _owned(_OWNED_ROW_DIRECT.first(db.session.connection(), {"attempt_id": attempt_id}), user_id)
    if row is None:
        raise NotFound("no such attempt")
    id_, owner, content_id, status, outcome, points, step_count, actions, kind, content_hash, skills_hash = row
    return AttemptRow(id_, owner, content_id, status, outcome, points, step_count, tuple(actions or ()), kind,
                      content_hash, skills_hash)


def _replay_row(row: AttemptRow) -> tuple[Scenario, Playthrough]:
    scenario = stored_by_hash(row.kind, row.content_hash)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"attempt {row.id} keeps a {row.kind}, not a scenario")
    return scenario, play(scenario, [Action.parse(action) for action in row.actions])


def replay(attempt: Attempt) -> tuple[Scenario, Playthrough]:
    """Rebuild an attempt's state from its stored version and the actions recorded on its row."""
    scenario = stored_scenario(attempt.version)
    return scenario, play(scenario, [Action.parse(action) for action in attempt.actions or []])


def load_attempt(user_id: int, attempt_id: int) -> AttemptState:
    """A trainee's own attempt with its state; NotFound for anyone else's."""
    row = _owned_row(user_id, attempt_id)
    scenario, playthrough = _replay_row(row)
    return AttemptState(row.view(), scenario, playthrough, skill_names_in(row.skills_hash))


_ENTRIES = LibraryEntry.__table__
_SKILLS_ENTRIES = _ENTRIES.alias("skills_entries")
# The version the library offers now for a scenario id, with the skills catalogue in force beside it.
_CURRENT_VERSIONS = (
    select(_VERSIONS.c.id, _VERSIONS.c.kind, _VERSIONS.c.content_hash,
           _SKILLS_VERSIONS.c.id.label("skills_id"), _SKILLS_VERSIONS.c.content_hash.label("skills_hash"))
    .join_from(_ENTRIES, _VERSIONS, _VERSIONS.c.id == _ENTRIES.c.version_id)
    .outerjoin(_SKILLS_ENTRIES, (_SKILLS_ENTRIES.c.content_id == CATALOGUE_IDS["skills"])
               & _SKILLS_ENTRIES.c.active.is_(True))
    .outerjoin(_SKILLS_VERSIONS, _SKILLS_VERSIONS.c.id == _SKILLS_ENTRIES.c.version_id)
    .where(_ENTRIES.c.content_id == bindparam("content_id"), _ENTRIES.c.active.is_(True),
           _ENTRIES.c.kind.in_(SCENARIO_KINDS)))
_ACTIVE_ATTEMPT = select(_ATTEMPTS.c.id).where(
    _ATTEMPTS.c.user_id == bindparam("user_id"), _ATTEMPTS.c.content_id == bindparam("content_id"),
    _ATTEMPTS.c.status == ACTIVE)


@prebuilt
def _new_attempt_statement() -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id."""
    # At most one running attempt per trainee and scenario (a partial unique index): a second Start loses.
    # The predicate is written out, as the index's is: with a bound value PostgreSQL's generic plan (used
    # once a statement has run a few times on a connection) could not match it to the index.
    return (upsert_insert(Attempt).on_conflict_do_nothing(
        index_elements=["user_id", "content_id"], index_where=text(f"status = '{ACTIVE}'"))
        .returning(_ATTEMPTS.c.id))


def _active_attempt(user_id: int, content_id: str) -> int | None:
    return db.session.connection().execute(_ACTIVE_ATTEMPT, {"user_id": user_id, "content_id": content_id}).scalar()


def _new_attempt(user_id: int, content_id: str) -> int:
    connection = db.session.connection()
    version = connection.execute(_CURRENT_VERSIONS, {"content_id": content_id}).first()
    if version is None:
        raise NotFound("no such scenario in the library")
    fields = {"user_id": user_id, "version_id": version.id, "skills_version_id": version.skills_id,
              "content_id": content_id, "status": ACTIVE, "started_at": utcnow()}
    for _ in range(3):
        attempt_id = connection.execute(_new_attempt_statement(), fields).scalar()
        if attempt_id is not None:
            break
        # A second Start at the same moment: the other request's attempt is the one to resume.
        existing = _active_attempt(user_id, content_id)
        if existing is not None:
            return existing
    else:
        raise Conflict("This scenario was started and ended elsewhere at the same moment; try again.")
    # A mentor's open request to play this scenario again is answered by this attempt.
    link_retry_requests(user_id, content_id, attempt_id)
    _finish_if_over(AttemptRow(attempt_id, user_id, content_id, ACTIVE, "unfinished", 0, 0, (), version.kind,
                               version.content_hash, version.skills_hash))
    return attempt_id


def _finish_if_over(row: AttemptRow) -> None:
    """An attempt whose start node is already an ending (or offers nothing) finishes at once."""
    scenario, playthrough = _replay_row(row)
    if playthrough.finished:
        _close(row, scenario, playthrough)


def start_attempt(user_id: int, content_id: str) -> int:
    """Resume the trainee's running attempt at this scenario, or start one on the current version."""
    def run() -> int:
        existing = _active_attempt(user_id, content_id)
        if existing is None:
            return _new_attempt(user_id, content_id)
        # Resuming a later attempt than the one a mentor reviewed answers their request too.
        link_retry_requests(user_id, content_id, existing)
        return existing
    return write(run)


def restart_attempt(user_id: int, attempt_id: int) -> int:
    """Abandon a running attempt (a finished one stays as it is) and start afresh on the current version."""
    def run() -> int:
        row = _owned_row(user_id, attempt_id)
        if row.status == ACTIVE:
            db.session.execute(update(Attempt).where(Attempt.id == row.id, Attempt.status == ACTIVE)
                               .values(status=ABANDONED, finished_at=utcnow(), needs_review=_has_reply(row.actions)))
        return _new_attempt(user_id, row.content_id)
    return write(run)


class _MovedOn(Exception):
    """The attempt moved on (or ended) between reading it and recording a step; read it again."""


def act(user_id: int, attempt_id: int, step_number: int, action: Action) -> AttemptState:
    """Record one action as step `step_number`; a replay of the same step changes nothing."""
    for _ in range(3):
        try:
            state = _act_once(user_id, attempt_id, step_number, action)
        except (_MovedOn, IntegrityError):
            # Another request got there first (the database let exactly one record this step number):
            # reading the attempt again tells a replay of this very step from a different answer.
            continue
        return state if state is not None else load_attempt(user_id, attempt_id)
    raise Conflict("This attempt was changed at the same moment elsewhere; nothing was recorded.")


def _act_once(user_id: int, attempt_id: int, step_number: int, action: Action) -> AttemptState | None:
    """Check the action against the attempt as read, then record it if the attempt has not moved since."""
    row = _owned_row(user_id, attempt_id)
    if row.step_count >= step_number and _same_step(row.actions, step_number, action):
        return None
    if row.step_count != step_number - 1:
        raise Conflict(ANSWERED_ELSEWHERE)
    if row.status != ACTIVE:
        raise Refused("This attempt has ended; start a new one to play again.")
    if row.step_count >= MAX_STEPS:
        raise Refused(f"This attempt has reached {MAX_STEPS} steps; restart the scenario to play again.")
    scenario, playthrough = _replay_row(row)
    try:
        step = playthrough.apply(action)
    except ActionRefused as exc:
        raise Refused(str(exc)) from None
    values = {"attempt_id": row.id, "previous": step_number - 1, "number": step_number, "node": step.node,
              "action": step.action, "answer": step.answer, "points": step.points, "skills": dict(step.skills),
              "feedback": list(step.feedback), "shown": dict(step.shown), "created_at": utcnow(),
              "total": playthrough.points, "recorded": [*row.actions, step.action]}
    if playthrough.finished:
        values.update(_finishing(scenario, playthrough, values["created_at"]), trainee=row.user_id,
                      scenario=row.content_id)

        def record_and_close() -> Rewards:
            best = _record_step(values, finishing=True)
            return _settle(row, scenario, playthrough, values["created_at"], step.points, best)
        rewards, status = write(record_and_close), FINISHED
    else:
        write(lambda: _record_step(values), one_statement=True)
        rewards, status = Rewards(step.points), ACTIVE
    view = AttemptView(row.id, row.content_id, status, playthrough.outcome, playthrough.points, step_number,
                       row.content_hash)
    return AttemptState(view, scenario, playthrough, skill_names_in(row.skills_hash), rewards)


def _record_step(values: Mapping[str, Any], finishing: bool = False) -> BestRead | None:
    """Move the attempt on by one step (finishing it at an ending) and store the step; _MovedOn if it moved.

    One statement on PostgreSQL, two on SQLite. Finishing on PostgreSQL returns the trainee's best for
    the scenario (values "trainee" and "scenario"), read by the same statement.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and finishing:
        stored = _MOVE_ON_FINISH_AND_RECORD.first(connection, values)
        if stored is None:
            raise _MovedOn()
        return BestRead(None if stored[0] is None else tuple(stored[0]))
    if connection.dialect.name == "postgresql":
        recorded = _MOVE_ON_AND_RECORD.rowcount(connection, values)
    else:
        moved = (_MOVE_ON_AND_FINISH if finishing else _MOVE_ON).rowcount(connection, values)
        recorded = moved and _RECORD_STEP.rowcount(connection, values)
    if recorded != 1:
        raise _MovedOn()
    return None


def _same_step(actions: tuple[str, ...], step_number: int, action: Action) -> bool:
    """Whether step `step_number` of an attempt was this very action (a replayed request)."""
    return step_number <= len(actions) and actions[step_number - 1] == str(action)


def _finishing(scenario: Scenario, playthrough: Playthrough, moment: datetime) -> dict[str, Any]:
    """The values `_FINISHING` sets for a playthrough that has reached its ending at `moment`."""
    return {"new_outcome": playthrough.outcome, "new_ending": playthrough.ending, "moment": moment,
            "review": scenario.review or _has_reply(step.action for step in playthrough.steps)}


def _has_reply(actions: Iterable[str]) -> bool:
    """Whether any recorded action is a written reply (those attempts wait for a mentor's review)."""
    return any(action.startswith("reply:") for action in actions)


@lru_cache(maxsize=512)
def _max_points(kind: str, digest: str) -> int | None:
    """The highest total a stored version allows (None when too branchy to compute); versions never change."""
    content = stored_by_hash(kind, digest)
    return scenario_stats(content).max_points if isinstance(content, Scenario) else None


def _close(attempt: AttemptRow, scenario: Scenario, playthrough: Playthrough) -> None:
    """Mark an attempt finished, let its points count toward the trainee's best, and award what is due."""
    moment = utcnow()
    closed = db.session.connection().execute(_FINISH, {
        "attempt_id": attempt.id, "new_points": playthrough.points, **_finishing(scenario, playthrough, moment)})
    if closed.rowcount == 1:
        _settle(attempt, scenario, playthrough, moment)


def _settle(attempt: AttemptRow, scenario: Scenario, playthrough: Playthrough, moment: datetime,
            step_points: int = 0, best: BestRead | None = None) -> Rewards:
    """What an attempt that has just finished earns: its best result, courses completed, the active day, badges."""
    library = library_facts()
    best_possible = _max_points(attempt.kind, attempt.content_hash)
    improvement = record_result(Finish(
        attempt.user_id, attempt.content_id, attempt.id, playthrough.points, playthrough.outcome, scenario.title,
        dict(playthrough.skills), best_possible is not None and playthrough.points >= best_possible,
        courses_holding(attempt.content_id, library)), best)
    # Read once, after the result is in: course completion and badges are judged on it, kept up to date here.
    standing = standing_of(attempt.user_id, library)
    finished: list[str] = []
    if playthrough.outcome == "passed":
        # In the same transaction, so a course is complete exactly when its last module is passed.
        finished = record_completions(attempt.user_id, scenario_id=attempt.content_id, library=library,
                                      standing=standing)
        celebrate_courses(attempt.user_id, finished, library)
        standing = standing.with_courses(finished)
    badges = tuple(after_finish(attempt.user_id, moment, library, standing))
    return Rewards(step_points, improvement + sum(badge.points for badge in badges), badges,
                   course_titles(finished, library))
