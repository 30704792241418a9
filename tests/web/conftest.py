"""Web fixtures: an app on a fresh database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), clients, users."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from jinja2 import StrictUndefined
from sqlalchemy import text

from app import create_app
from app.extensions import db

LIBRARY = Path(__file__).resolve().parent / "library"
PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


_postgres_schema_built = False


def _reset_postgres(app: Flask) -> None:
    """Build the schema afresh once per test run (models may have changed since the last), then empty it."""
    global _postgres_schema_built
    with app.app_context():
        if not _postgres_schema_built:
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
            _postgres_schema_built = True
        db.create_all()
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, object]:
    """Settings for a test app; tests may change them before asking for `app`."""
    url = POSTGRES_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": url,
        "CONTENT_ROOT": str(LIBRARY),
        "AUTO_MIGRATE": False,
        "SYNC_ON_START": False,
        "WTF_CSRF_ENABLED": False,
        # Tests change scores and read the boards straight after; the cache's own tests turn it on.
        "BOARD_CACHE_SECONDS": 0,
    }


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    """A fresh app with an empty schema and the test library synced."""
    from app.content_sync import sync_library

    app = create_app(app_config)
    app.jinja_env.undefined = StrictUndefined
    if POSTGRES_URL:
        _reset_postgres(app)
    with app.app_context():
        db.create_all()
        sync_library(LIBRARY, Path(app.static_folder or "static"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser without JavaScript."""
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., int]:
    """Create a user directly and return its id."""
    from app.accounts import create_user

    def make(username: str = "ayse", role: str = "trainee", password: str = PASSWORD,
             display_name: str | None = None) -> int:
        with app.app_context():
            return create_user(username, password, role=role, display_name=display_name).id
    return make


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str, str], FlaskClient]:
    """Sign a client in through the real login form."""
    def sign_in(username: str, password: str = PASSWORD) -> FlaskClient:
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        return client
    return sign_in


@pytest.fixture
def trainee(make_user: Callable[..., int], login: Callable[[str, str], FlaskClient]) -> FlaskClient:
    """A signed-in trainee's client."""
    make_user("ayse", "trainee", display_name="Ayşe Yılmaz")
    return login("ayse")


@pytest.fixture
def rendered(app: Flask) -> Iterator[list[str]]:
    """Names of the templates rendered during the test, in order."""
    names: list[str] = []

    def record(sender: Flask, template, context, **extra) -> None:  # type: ignore[no-untyped-def]
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


def csrf_token_from(html: str) -> str:
    """The CSRF token rendered into a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token in page"
    return match.group(1)
