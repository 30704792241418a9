"""Statements run on the DBAPI cursor read and write the same values SQLAlchemy itself would."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import pytest
from flask import Flask
from sqlalchemy import Numeric, bindparam, cast, event, insert, literal, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.attempts import start_attempt
from app.direct_sql import DirectStatement
from app.extensions import db
from app.models import Attempt, AttemptStep
from app.models.play import ACTIVE

STEPS = AttemptStep.__table__
ATTEMPTS = Attempt.__table__
COLUMNS = ("attempt_id", "number", "node", "action", "answer", "points", "skills", "feedback", "shown", "created_at")
RECORD = DirectStatement(lambda: insert(STEPS).values({name: bindparam(name) for name in COLUMNS}))
READ = DirectStatement(lambda: select(STEPS.c.skills, STEPS.c.feedback, STEPS.c.shown, STEPS.c.created_at,
                                      STEPS.c.answer).where(STEPS.c.attempt_id == bindparam("attempt_id"),
                                                            STEPS.c.number == bindparam("number")))
# A fixed value beside the bound ones, as in the play step's compare-and-set.
MOVE = DirectStatement(lambda: update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("attempt_id"),
                                                      ATTEMPTS.c.status == ACTIVE)
                       .values(step_count=bindparam("number"), actions=bindparam("recorded")))
MOMENT = datetime(2026, 3, 21, 9, 30, 15, 250000, tzinfo=timezone.utc)


@pytest.fixture
def attempt_id(app: Flask, make_user: Callable[..., int]) -> int:
    """A running attempt of a fresh trainee."""
    user_id = make_user("ayse")
    with app.test_request_context():
        return start_attempt(user_id, "late-delivery")


def _step(attempt_id: int, number: int) -> dict[str, object]:
    return {"attempt_id": attempt_id, "number": number, "node": "start", "action": "reply:Merhaba",
            "answer": "İyi günler, ‘nasıl’ yardımcı olabilirim? سلام", "points": -2,
            "skills": {"empathy": 3}, "feedback": ["**Good**"], "shown": {"say": "Where is my refund?"},
            "created_at": MOMENT}


def test_values_written_directly_read_back_through_the_orm(app: Flask, attempt_id: int) -> None:
    with app.test_request_context(method="POST"):
        assert RECORD.rowcount(db.session.connection(), _step(attempt_id, 1)) == 1
        db.session.commit()
        stored = db.session.scalars(select(AttemptStep).where(AttemptStep.attempt_id == attempt_id)).one()
        assert (stored.skills, stored.feedback, stored.shown) == ({"empathy": 3}, ["**Good**"],
                                                                  {"say": "Where is my refund?"})
        assert stored.answer == _step(attempt_id, 1)["answer"]
        assert stored.created_at.replace(tzinfo=timezone.utc) == MOMENT


def test_rows_read_directly_come_back_typed(app: Flask, attempt_id: int) -> None:
    with app.test_request_context(method="POST"):
        db.session.execute(insert(AttemptStep), [_step(attempt_id, 1)])
        db.session.commit()
        skills, feedback, shown, created_at, answer = READ.first(db.session.connection(),
                                                                 {"attempt_id": attempt_id, "number": 1}) or ()
        assert (skills, feedback, shown) == ({"empathy": 3}, ["**Good**"], {"say": "Where is my refund?"})
        assert isinstance(created_at, datetime) and created_at.replace(tzinfo=timezone.utc) == MOMENT
        assert answer == _step(attempt_id, 1)["answer"]
        assert READ.first(db.session.connection(), {"attempt_id": attempt_id, "number": 2}) is None


def test_every_row_comes_back_typed_in_order(app: Flask, attempt_id: int) -> None:
    every = DirectStatement(lambda: select(STEPS.c.number, STEPS.c.skills, STEPS.c.created_at)
                            .where(STEPS.c.attempt_id == bindparam("attempt_id")).order_by(STEPS.c.number.desc()))
    with app.test_request_context(method="POST"):
        db.session.execute(insert(AttemptStep), [_step(attempt_id, 1), _step(attempt_id, 2)])
        db.session.commit()
        rows = every.all(db.session.connection(), {"attempt_id": attempt_id})
        assert [(number, skills) for number, skills, _ in rows] == [(2, {"empathy": 3}), (1, {"empathy": 3})]
        assert all(isinstance(created_at, datetime) for *_, created_at in rows)
        assert every.all(db.session.connection(), {"attempt_id": attempt_id + 1000}) == []


def test_an_update_counts_its_rows_and_honours_its_fixed_values(app: Flask, attempt_id: int) -> None:
    with app.test_request_context(method="POST"):
        connection = db.session.connection()
        assert MOVE.rowcount(connection, {"attempt_id": attempt_id, "number": 1, "recorded": ["acknowledge"]}) == 1
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(status="finished"))
        assert MOVE.rowcount(connection, {"attempt_id": attempt_id, "number": 2, "recorded": ["x", "y"]}) == 0
        db.session.commit()
        assert db.session.get(Attempt, attempt_id).actions == ["acknowledge"]  # type: ignore[union-attr]


def test_database_errors_come_out_as_sqlalchemy_exceptions(app: Flask, attempt_id: int) -> None:
    with app.test_request_context(method="POST"):
        RECORD.rowcount(db.session.connection(), _step(attempt_id, 1))
        with pytest.raises(IntegrityError):  # one row per attempt and step number
            RECORD.rowcount(db.session.connection(), _step(attempt_id, 1))
        db.session.rollback()
        with pytest.raises(DBAPIError):  # no such attempt: the foreign key holds
            RECORD.rowcount(db.session.connection(), _step(attempt_id + 1000, 1))
        db.session.rollback()
        assert db.session.scalars(select(AttemptStep.id)).all() == []


def test_statement_listeners_see_direct_statements(app: Flask, attempt_id: int) -> None:
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        seen.append(statement)

    with app.test_request_context(method="POST"):
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            READ.first(db.session.connection(), {"attempt_id": attempt_id, "number": 1})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert seen == [READ.plan(db.engine.dialect).sql]


def test_a_column_whose_conversion_needs_the_cursor_is_refused_when_compiled(app: Flask) -> None:
    money = DirectStatement(lambda: select(cast(literal(12), Numeric(10, 2))))
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            with pytest.raises(TypeError, match="cursor's description"):
                money.first(connection, {})
        else:
            assert money.first(connection, {}) == (12,)
