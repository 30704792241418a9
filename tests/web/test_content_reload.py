"""CONTENT_RELOAD: changed library files are synced on the next request, without a restart."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LibraryEntry
from tests.web.conftest import LIBRARY


@pytest.fixture
def app_config(app_config, tmp_path):
    """A copy of the test library that the test may edit, watched on every request."""
    root = tmp_path / "library"
    shutil.copytree(LIBRARY, root)
    return {**app_config, "CONTENT_ROOT": str(root), "CONTENT_RELOAD": True, "CONTENT_RELOAD_SECONDS": 0}


def _title(app, content_id: str) -> str:
    with app.app_context():
        return db.session.scalar(select(LibraryEntry).where(LibraryEntry.content_id == content_id)).version.title


def test_a_changed_file_is_synced_on_the_next_request(app, app_config, client):
    path = app_config["CONTENT_ROOT"] + "/scenarios/late-delivery.yaml"
    client.get("/login")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source.replace("title: A third late delivery", "title: Edited on disk"))
    client.get("/login")
    assert _title(app, "late-delivery") == "Edited on disk"
    watcher = app.extensions["content_reload"]
    assert watcher.check() is False  # nothing changed since: no second sync


def test_it_is_off_unless_asked(app_config, tmp_path):
    from app import create_app

    plain = create_app({**app_config, "CONTENT_RELOAD": False})
    assert "content_reload" not in plain.extensions


def test_the_environment_turns_it_on(monkeypatch):
    from app import settings

    monkeypatch.setenv("CONTENT_RELOAD", "1")
    assert settings.from_environment()["CONTENT_RELOAD"] is True
    monkeypatch.setenv("CONTENT_RELOAD", "0")
    assert "CONTENT_RELOAD" not in settings.from_environment()
