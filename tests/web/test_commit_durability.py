"""Play commits without waiting for the disk; account changes always wait for it."""

from __future__ import annotations

from typing import Callable

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool

from app import create_app
from app.accounts import logout
from app.database import is_sqlite, postgres_connect_options, postgres_pool_options, write
from app.extensions import db
from app.points import award


def _statements(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def _sqlite_safety() -> int:
    """SQLite's `synchronous` level on the session's connection: 1 is NORMAL, 2 is FULL."""
    return db.session.connection().connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]


def test_the_setting_reaches_every_postgresql_session_with_its_start_up_options() -> None:
    options = postgres_connect_options("postgresql+psycopg://db/app", "off", {"pool_size": 3})
    assert options == {"pool_size": 3, "connect_args": {"options": "-c synchronous_commit=off"}}
    given = {"connect_args": {"options": "-c statement_timeout=5000", "sslmode": "require"}}
    merged = postgres_connect_options("postgresql://db/app", "on", given)["connect_args"]
    assert merged == {"options": "-c statement_timeout=5000 -c synchronous_commit=on", "sslmode": "require"}
    assert postgres_connect_options("sqlite:///x.db", "off", {}) == {}


def test_options_in_the_url_or_the_environment_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://db/app?options=-c%20search_path%3Dtraining"
    assert postgres_connect_options(url, "off", {})["connect_args"] == {
        "options": "-c search_path=training -c synchronous_commit=off"}
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=3000")
    assert postgres_connect_options("postgresql://db/app", "off", {})["connect_args"] == {
        "options": "-c statement_timeout=3000 -c synchronous_commit=off"}


def test_server_leaves_the_servers_own_setting_and_sends_nothing() -> None:
    assert postgres_connect_options("postgresql://db/app", "server", {"pool_size": 3}) == {"pool_size": 3}


def test_a_postgresql_pool_hands_out_the_connection_returned_last(app: Flask) -> None:
    assert postgres_pool_options("sqlite:///x.db", {}) == {}
    assert postgres_pool_options("postgresql://db/app", {"pool_use_lifo": False}) == {"pool_use_lifo": False}
    assert postgres_pool_options("postgresql://db/app", {"poolclass": NullPool}) == {"poolclass": NullPool}
    with app.app_context():
        if is_sqlite(db.engine):
            pytest.skip("PostgreSQL's pool; SQLite's default pool is left as it is")
        first, second = db.engine.connect(), db.engine.connect()
        returned_last = second.connection.dbapi_connection
        first.close()
        second.close()
        for _ in range(3):
            with db.engine.connect() as again:
                assert again.connection.dbapi_connection is returned_last


def test_an_unknown_level_stops_the_app_naming_the_setting(app_config: dict[str, object]) -> None:
    if not str(app_config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        app_config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with pytest.raises(ValueError, match="SYNCHRONOUS_COMMIT must be one of off, local"):
        create_app({**app_config, "SYNCHRONOUS_COMMIT": "sometimes"})


def test_postgresql_sessions_commit_as_configured(app: Flask, app_config: dict[str, object]) -> None:
    with app.app_context():
        if is_sqlite(db.engine):
            pytest.skip("PostgreSQL's synchronous_commit")
        assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "off"
    durable = create_app({**app_config, "SYNCHRONOUS_COMMIT": "ON"})
    with durable.app_context():
        assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        db.session.remove()
        db.engine.dispose()


def test_an_account_change_waits_for_the_disk_and_play_does_not(app: Flask, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    seen = _statements(app)
    with app.test_request_context(method="POST"):
        sqlite = is_sqlite(db.engine)
        write(lambda: award(user_id, "bonus:first", 5, "Bonus"))
        assert not any("synchronous_commit" in sql for sql in seen)
        if sqlite:
            assert _sqlite_safety() == 1
        logout(user_id)
        if sqlite:
            assert _sqlite_safety() == 2
        else:
            assert "SET LOCAL synchronous_commit = on" in seen
            db.session.rollback()
            # Only that transaction waited: the session's own level is unchanged.
            assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "off"
        write(lambda: award(user_id, "bonus:second", 5, "Bonus"))
        if sqlite:
            assert _sqlite_safety() == 1
        assert seen.count("SET LOCAL synchronous_commit = on") == (0 if sqlite else 1)


@pytest.mark.parametrize("level", ["on", "remote_apply", "server"])
def test_a_durable_write_never_lowers_a_stricter_level(app: Flask, app_config: dict[str, object],
                                                       make_user: Callable[..., int], level: str) -> None:
    if not str(app_config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        pytest.skip("PostgreSQL's synchronous_commit")
    user_id = make_user("ayse")
    durable = create_app({**app_config, "SYNCHRONOUS_COMMIT": level})
    seen = _statements(durable)
    with durable.test_request_context(method="POST"):
        logout(user_id)
        assert seen and not any("synchronous_commit" in sql for sql in seen)
        db.session.remove()
        db.engine.dispose()
