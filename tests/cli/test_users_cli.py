"""`flask users create` and `flask users set-password` for scripted set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from app import accounts, accounts_cli, create_app
from app.extensions import db
from app.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty SQLite database."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
                      "AUTO_MIGRATE": False, "SYNC_ON_START": False})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask ...` commands against the app."""
    return app.test_cli_runner()


def user(app: Flask, username: str) -> User | None:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.username == username))
        if found is not None:
            db.session.expunge(found)
        return found


def signs_in(app: Flask, username: str, password: str) -> bool:
    with app.test_request_context():
        return accounts.authenticate(username, password, "127.0.0.1") is not None


def test_create_reads_the_password_from_standard_input(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "Root", "--role", "admin", "--display-name", "Site Admin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created root (admin)." in result.output
    created = user(app, "root")
    assert created is not None and (created.role, created.display_name) == ("admin", "Site Admin")
    assert PASSWORD not in created.password_hash
    assert signs_in(app, "root", PASSWORD)


def test_create_defaults_to_a_trainee_named_after_the_account(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "ayse"], input=PASSWORD + "\r\n")
    assert result.exit_code == 0, result.output
    created = user(app, "ayse")
    assert created is not None and (created.role, created.display_name) == ("trainee", "ayse")
    assert signs_in(app, "ayse", PASSWORD)


def test_create_ends_the_first_run_setup(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        assert accounts.announce_setup_token()
    runner.invoke(args=["users", "create", "root", "--role", "admin"], input=PASSWORD + "\n")
    with app.app_context():
        assert not accounts.setup_needed()
    assert app.test_client().get("/setup").status_code == 404


def test_create_prompts_twice_on_a_terminal(app: Flask, runner: FlaskCliRunner,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_cli, "_interactive", lambda: True)
    result = runner.invoke(args=["users", "create", "ayse"],
                           input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert PASSWORD not in result.output
    assert signs_in(app, "ayse", PASSWORD)


@pytest.mark.parametrize("args, password, message", [
    (["ab"], PASSWORD, "3 to 64 characters"),
    (["ayse"], "short", "at least 10 characters"),
    (["ayse"], "", "at least 10 characters"),
])
def test_create_refuses_bad_input_readably(app: Flask, runner: FlaskCliRunner, args: list[str], password: str,
                                           message: str) -> None:
    result = runner.invoke(args=["users", "create", *args], input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert accounts.setup_needed()


def test_create_refuses_a_taken_name(runner: FlaskCliRunner) -> None:
    runner.invoke(args=["users", "create", "ayse"], input=PASSWORD + "\n")
    result = runner.invoke(args=["users", "create", "AYSE"], input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "The username ayse is taken." in result.output


def test_create_refuses_an_unknown_role(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "ayse", "--role", "boss"], input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "'boss' is not one of" in result.output
    assert user(app, "ayse") is None


def test_set_password_replaces_it_and_signs_the_user_out(app: Flask, runner: FlaskCliRunner) -> None:
    runner.invoke(args=["users", "create", "ayse"], input=PASSWORD + "\n")
    before = user(app, "ayse")
    new = "a brand new passphrase"
    result = runner.invoke(args=["users", "set-password", "Ayse"], input=new + "\n")
    assert result.exit_code == 0, result.output
    assert "Password set for ayse" in result.output
    after = user(app, "ayse")
    assert before is not None and after is not None and after.session_token != before.session_token
    assert signs_in(app, "ayse", new)
    assert not signs_in(app, "ayse", PASSWORD)


def test_set_password_for_an_unknown_account(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "set-password", "ghost"], input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "No account is called ghost." in result.output


def test_set_password_refuses_a_short_one(app: Flask, runner: FlaskCliRunner) -> None:
    runner.invoke(args=["users", "create", "ayse"], input=PASSWORD + "\n")
    result = runner.invoke(args=["users", "set-password", "ayse"], input="short\n")
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert signs_in(app, "ayse", PASSWORD)
