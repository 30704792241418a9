"""A page's reads run in autocommit; a write inside a page still gets one whole transaction."""

from __future__ import annotations

import sqlite3
from typing import Callable

import pytest
from flask import Flask
from sqlalchemy import event, func, insert, select, text

from app.database import is_sqlite, reads_only, write
from app.extensions import db
from app.models import PointsEntry
from app.points import award


def _statements(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2].split()[0].upper()))
    return seen


def _autocommit(connection) -> bool:  # type: ignore[no-untyped-def]
    dbapi = connection.connection.dbapi_connection
    return bool(dbapi.autocommit) if not is_sqlite(db.engine) else not dbapi.in_transaction


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_page_reads_without_opening_a_transaction(app: Flask, method: str) -> None:
    seen = _statements(app)
    with app.test_request_context(method=method):
        assert reads_only()
        connection = db.session.connection()
        connection.execute(select(func.count()).select_from(PointsEntry))
        assert _autocommit(connection)
    assert "BEGIN" not in seen


def test_a_form_post_reads_in_a_transaction(app: Flask) -> None:
    with app.test_request_context(method="POST"):
        assert not reads_only()
        connection = db.session.connection()
        connection.execute(select(func.count()).select_from(PointsEntry))
        assert not _autocommit(connection)


def test_a_write_during_a_page_is_all_or_nothing(app: Flask, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")

    def award_then_fail() -> None:
        award(user_id, "bonus:first", 5, "Bonus")
        assert not reads_only() and not _autocommit(db.session.connection())
        db.session.execute(text("SELECT no_such_column FROM points_ledger"))

    with app.test_request_context(method="GET"):
        db.session.connection().execute(select(func.count()).select_from(PointsEntry))
        with pytest.raises(Exception, match="no_such_column"):
            write(award_then_fail)
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0
        write(lambda: award(user_id, "bonus:second", 3, "Bonus"))
        assert reads_only()
    with app.app_context():
        assert db.session.scalars(select(PointsEntry.key)).all() == ["bonus:second"]


def test_a_post_whose_changes_all_go_through_write_reads_on_its_own(app: Flask) -> None:
    with app.test_request_context("/attempts/1/act", method="POST"):
        assert reads_only()
        connection = db.session.connection()
        connection.execute(select(func.count()).select_from(PointsEntry))
        assert _autocommit(connection)
    with app.test_request_context("/attempts/1/restart", method="POST"):
        assert not reads_only()


def test_a_one_statement_write_needs_no_transaction_on_postgresql_only(app: Flask,
                                                                       make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    in_autocommit: list[bool] = []

    def one_row(key: str) -> Callable[[], None]:
        def run() -> None:
            db.session.execute(insert(PointsEntry).values(user_id=user_id, key=key, amount=1, reason="Bonus"))
            in_autocommit.append(_autocommit(db.session.connection()))
        return run

    with app.test_request_context(method="GET"):
        write(one_row("bonus:alone"), one_statement=True)
    with app.test_request_context(method="POST"):
        # Inside a post's transaction it simply takes part in it, and write() commits as usual.
        write(one_row("bonus:joined"), one_statement=True)
    with app.app_context():
        assert in_autocommit == [not is_sqlite(db.engine), False]
        assert sorted(db.session.scalars(select(PointsEntry.key))) == ["bonus:alone", "bonus:joined"]


def test_a_write_after_autocommit_reads_takes_the_sqlite_lock_in_the_same_transaction(
        app: Flask, make_user: Callable[..., int]) -> None:
    with app.app_context():
        if not is_sqlite(db.engine):
            pytest.skip("SQLite only")
    user_id = make_user("ayse")
    held: list[tuple[bool, bool, bool]] = []

    def award_holding_the_lock() -> None:
        dbapi = db.session.connection().connection.dbapi_connection
        other = sqlite3.connect(db.engine.url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked = False
        except sqlite3.OperationalError:
            locked = True
        finally:
            other.close()
        held.append((dbapi is reader, db.session().get_transaction() is reading, locked))
        award(user_id, "bonus:upgraded", 2, "Bonus")

    with app.test_request_context(method="GET"):
        reader = db.session.connection().connection.dbapi_connection
        reading = db.session().get_transaction()
        db.session.connection().execute(select(func.count()).select_from(PointsEntry))
        assert not reader.in_transaction
        write(award_holding_the_lock)
        assert not reader.in_transaction
    # No commit and second checkout in between: the reading transaction itself takes the write lock.
    assert held == [(True, True, True)]
    with app.app_context():
        assert db.session.scalars(select(PointsEntry.key)).all() == ["bonus:upgraded"]
