"""The library's version: renewed by every change to the active library, so a worker knows when its copy is current.

The signed-in user's query brings the version along; a worker keeps the library facts it read under the
version they were read with, and a request whose version matches uses them without asking the database.
Every worker compares against the same stored number, so none serves a library that another has seen change.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import bindparam, select

from .database import prebuilt, upsert_insert
from .extensions import db
from .models import AppSetting

VERSION_SETTING = "library_version"
# db.session.info keys: the version this request's user came with, and whether this session changed the library.
_SEEN = "library_version_seen"
_CHANGED = "library_version_changed"

_SETTINGS = AppSetting.__table__


def version_now() -> Any:
    """The stored version as a scalar subquery, to read along with another statement."""
    return select(_SETTINGS.c.value).where(_SETTINGS.c.key == VERSION_SETTING).scalar_subquery()


@prebuilt
def _bump_statement() -> Any:
    """Store a new library version, whether or not there was one."""
    statement = upsert_insert(AppSetting).values(key=VERSION_SETTING, value=bindparam("version"))
    return statement.on_conflict_do_update(index_elements=["key"], set_={"value": statement.excluded.value})


def bump() -> None:
    """Mark the active library changed: call it inside the write transaction that changes it.

    A version is a fresh random token, not a count: a database restored from a backup, or another
    database entirely, never shows a worker a version it has kept facts for.
    """
    db.session.connection().execute(_bump_statement(), {"version": secrets.token_hex(12)})
    db.session.info[_CHANGED] = True


def note_seen(version: str | None) -> None:
    """Remember the version read with the signed-in user for the rest of this request."""
    db.session.info[_SEEN] = version


def changed_here() -> bool:
    """Whether this session has changed the library (perhaps not yet committed)."""
    return bool(db.session.info.get(_CHANGED))


def seen_version() -> str | None:
    """The version this request read with its user, unless the request has changed the library since."""
    return None if changed_here() else db.session.info.get(_SEEN)
