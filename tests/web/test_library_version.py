"""A worker reuses the library facts it read while the stored library version stays the one a request saw."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
from flask import Flask
from sqlalchemy import event, select

from app import library_version, rewards
from app.content_sync import sync_library
from app.database import write
from app.extensions import db
from app.models import AppSetting, User
from app.rewards import library_facts
from app.security import load_user
from tests.web.conftest import LIBRARY, PASSWORD


def _sign_in_now(user_id: int) -> None:
    """Load the signed-in user as a request does, which reads the library version along."""
    token = db.session.scalar(select(User.session_token).where(User.id == user_id))
    assert load_user(f"{user_id}:{token}") is not None


def _library_reads(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: seen.append(args[2]) if "FROM library_entries" in args[2] else None)
    return seen


def _stored_version() -> str | None:
    return db.session.scalar(select(AppSetting.value).where(AppSetting.key == library_version.VERSION_SETTING))


def test_a_page_reads_the_library_once_per_version_and_worker(app: Flask, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    client = app.test_client()
    assert client.post("/login", data={"username": "ayse", "password": PASSWORD}).status_code in (302, 303)
    reads = _library_reads(app)
    assert client.get("/dashboard").status_code == 200
    before = len(reads)
    assert before == 1  # read once, for the version the fixture's sync stored
    for _ in range(3):
        assert client.get("/dashboard").status_code == 200
        assert client.get("/leaderboards").status_code == 200
    assert len(reads) == before


def test_a_changed_library_shows_on_the_next_request(app: Flask, make_user: Callable[..., int],
                                                     tmp_path: Path) -> None:
    user_id = make_user("ayse")
    with app.test_request_context():
        _sign_in_now(user_id)
        assert "persian-listening" in library_facts().scenarios
        first = _stored_version()
    changed = tmp_path / "library"
    shutil.copytree(LIBRARY, changed)
    (changed / "scenarios" / "persian-listening.yaml").unlink()
    with app.app_context():
        sync_library(changed, Path(app.static_folder or "static"))
    with app.test_request_context():
        _sign_in_now(user_id)
        assert "persian-listening" not in library_facts().scenarios
        assert _stored_version() not in (None, first)


def test_facts_read_inside_an_unfinished_change_are_never_kept(app: Flask, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    with app.app_context():
        before = _stored_version()
    uncommitted: list[str | None] = []

    def change_then_fail() -> None:
        library_version.bump()
        uncommitted.append(_stored_version())
        assert library_facts().scenarios  # read under the new version, which is never committed
        raise RuntimeError("the change fails")

    with app.test_request_context(method="POST"):
        _sign_in_now(user_id)
        with pytest.raises(RuntimeError):
            write(change_then_fail)
    assert uncommitted[0] not in (None, before)
    assert uncommitted[0] not in rewards._FACTS_BY_VERSION
    with app.test_request_context():
        _sign_in_now(user_id)
        assert _stored_version() == before
        assert library_facts() is rewards._FACTS_BY_VERSION[before]


def test_every_change_stores_a_version_never_seen_before(app: Flask) -> None:
    seen = set()
    with app.app_context():
        for _ in range(5):
            write(library_version.bump)
            seen.add(_stored_version())
    assert len(seen) == 5 and None not in seen
