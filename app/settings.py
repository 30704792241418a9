"""Configuration: defaults, environment variables, and the secret key kept in the instance folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from .database import database_url

SECRET_FILE = "secret_key"


def defaults(app: Flask, project_root: Path) -> dict[str, Any]:
    """Settings used unless the environment or the caller says otherwise."""
    return {
        "CONTENT_ROOT": str(project_root),
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(app.instance_path) / "crm-dojo.sqlite3"),
        "SYNC_ON_START": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "MAX_FORM_PARTS": 200,
        "TRUSTED_PROXIES": 0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_FAILURES_PER_CLIENT": 20,
        "LOGIN_LOCK_SECONDS": 300,
        "BABEL_DEFAULT_LOCALE": "en",
        "LANGUAGES": ["en", "tr", "fa"],
        # Scored by mentors when a scenario names no `rubric` of its own: ids, labels, 0 to max each.
        "DEFAULT_RUBRIC": [
            {"id": "empathy", "label": "Empathy", "max": 5},
            {"id": "emotional-stability", "label": "Emotional stability", "max": 5},
            {"id": "conscientiousness", "label": "Conscientiousness", "max": 5},
            {"id": "adaptability", "label": "Adaptability", "max": 5},
            {"id": "optimism", "label": "Optimism", "max": 5},
        ],
        "MENTOR_BONUS_CAP": 50,
        "REVIEW_CLAIM_MINUTES": 30,
    }


def from_environment() -> dict[str, Any]:
    """Settings from the environment variables listed in the README (DATABASE_URL, SECRET_KEY and others)."""
    found: dict[str, Any] = {}
    if os.environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ["DATABASE_URL"])
    if os.environ.get("SECRET_KEY"):
        found["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("TRUSTED_PROXIES"):
        found["TRUSTED_PROXIES"] = int(os.environ["TRUSTED_PROXIES"])
    if os.environ.get("SYNC_ON_START", "").lower() in ("0", "false", "no"):
        found["SYNC_ON_START"] = False
    for name in ("MENTOR_BONUS_CAP", "REVIEW_CLAIM_MINUTES"):
        if os.environ.get(name):
            found[name] = int(os.environ[name])
    if os.environ.get("SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        found["SESSION_COOKIE_SECURE"] = found["REMEMBER_COOKIE_SECURE"] = True
    return found


def instance_secret_key(instance_path: Path) -> str:
    """The secret key stored in the instance folder, created owner-only on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / SECRET_FILE
    if not path.exists():
        # Written aside and linked into place, so a worker starting at the same moment never reads half a key.
        draft = instance_path / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
