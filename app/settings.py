"""Configuration: defaults, environment variables, and the secret key kept in the instance folder."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from .database import database_url
from .engine.calendar import WEEKDAYS
from .engine.levels import parse_ladder

SECRET_FILE = "secret_key"

DEFAULT_LEVELS = [
    {"name": "Newcomer", "points": 0},
    {"name": "Listener", "points": 50},
    {"name": "Problem solver", "points": 150},
    {"name": "Trusted advisor", "points": 300},
    {"name": "Customer champion", "points": 600},
    {"name": "Relationship master", "points": 1000},
]


def defaults(app: Flask, project_root: Path) -> dict[str, Any]:
    """Settings used unless the environment or the caller says otherwise."""
    return {
        "CONTENT_ROOT": str(project_root),
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(app.instance_path) / "crm-dojo.sqlite3"),
        "SYNC_ON_START": True,
        "CONTENT_RELOAD": False,
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
        # Gamification: the level ladder, the calendar that streaks and weekly/monthly boards follow.
        "LEVELS": DEFAULT_LEVELS,
        "TIME_ZONE": "UTC",
        "WEEK_START": "monday",
        "LEADERBOARD_SIZE": 20,
        "LEADERBOARD_NEIGHBOURS": 3,
        # How long a computed board is served to everyone before it is computed again; 0 computes every time.
        "BOARD_CACHE_SECONDS": 30,
        # PostgreSQL's synchronous_commit for play and progress; account changes always wait for the disk.
        "SYNCHRONOUS_COMMIT": "off",
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
    for name in ("TIME_ZONE", "WEEK_START", "SYNCHRONOUS_COMMIT"):
        if os.environ.get(name):
            found[name] = os.environ[name].strip()
    if os.environ.get("LEVELS"):
        found["LEVELS"] = json.loads(os.environ["LEVELS"])
    if os.environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ["DATABASE_URL"])
    if os.environ.get("SECRET_KEY"):
        found["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("TRUSTED_PROXIES"):
        found["TRUSTED_PROXIES"] = int(os.environ["TRUSTED_PROXIES"])
    if os.environ.get("SYNC_ON_START", "").lower() in ("0", "false", "no"):
        found["SYNC_ON_START"] = False
    if os.environ.get("CONTENT_RELOAD", "").lower() in ("1", "true", "yes"):
        found["CONTENT_RELOAD"] = True
    for name in ("MENTOR_BONUS_CAP", "REVIEW_CLAIM_MINUTES", "BOARD_CACHE_SECONDS"):
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


def check_gamification(config: dict[str, Any]) -> None:
    """Refuse to start with a time zone, week start or level ladder that cannot work, naming the setting."""
    try:
        ZoneInfo(str(config["TIME_ZONE"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"TIME_ZONE {config['TIME_ZONE']!r} is not a known time zone (e.g. Europe/Istanbul)") from exc
    if str(config["WEEK_START"]).lower() not in WEEKDAYS:
        raise ValueError(f"WEEK_START must be a weekday name such as monday or saturday, not {config['WEEK_START']!r}")
    try:
        parse_ladder(config["LEVELS"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"LEVELS is not a usable level ladder: {exc}") from exc
