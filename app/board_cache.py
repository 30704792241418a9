"""Computed boards kept in the database for every worker and server, and the version that retires them all at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Integer, String, bindparam, cast, delete, select
from sqlalchemy.exc import DBAPIError, OperationalError

from . import clock
from .database import prebuilt, upsert_insert, write
from .extensions import db
from .models import AppSetting, BoardCacheEntry

VERSION_SETTING = "boards_version"
# Expired entries are never read, only left behind: each worker deletes them with a store at most once a minute.
SWEEP_EVERY = timedelta(minutes=1)
_NEXT_SWEEP = "board_cache_next_sweep"

_ENTRIES, _SETTINGS = BoardCacheEntry.__table__, AppSetting.__table__
_SWEEP = delete(_ENTRIES).where(_ENTRIES.c.expires_at <= bindparam("now"))


@prebuilt
def _store_statement() -> Any:
    """Insert an entry, or replace one another worker stored under the same key meanwhile."""
    statement = upsert_insert(BoardCacheEntry)
    return statement.on_conflict_do_update(index_elements=["key"], set_={
        "value": statement.excluded.value, "expires_at": statement.excluded.expires_at})


@prebuilt
def _bump_statement() -> Any:
    """Add one to the boards version, starting it at 1; concurrent bumps each add one."""
    statement = upsert_insert(AppSetting).values(key=VERSION_SETTING, value="1")
    return statement.on_conflict_do_update(index_elements=["key"], set_={
        "value": cast(cast(_SETTINGS.c.value, Integer) + 1, String)})


def lifetime() -> int:
    """How many seconds a computed board is served before it is computed again; 0 (or less) turns the cache off."""
    return max(0, int(current_app.config["BOARD_CACHE_SECONDS"]))


def bump_version() -> None:
    """Retire every cached board at once: call it inside the write transaction of a change that must show now."""
    db.session.connection().execute(_bump_statement())


def stored_under(key: Any) -> Any:
    """The value stored under a key built in SQL, while it has not expired (bind `now`): a column to read along."""
    return (select(_ENTRIES.c.value).where(_ENTRIES.c.key == key, _ENTRIES.c.expires_at > bindparam("now"))
            .scalar_subquery())


def store(values: dict[str, Any]) -> None:
    """Keep computed values for everyone until they expire, in one short write; now and then sweep expired ones."""
    now = clock.now()
    expires_at = now + timedelta(seconds=lifetime())
    rows = [{"key": key, "value": json.dumps(value, separators=(",", ":")), "expires_at": expires_at}
            for key, value in values.items()]
    sweep = _sweep_due(now)

    def run() -> None:
        connection = db.session.connection()
        connection.execute(_store_statement(), rows)
        if sweep:
            connection.execute(_SWEEP, {"now": now})
    try:
        write(run)
    except (OperationalError, DBAPIError):
        # Keeping a board is an optimisation: the reader still gets the board just computed.
        current_app.logger.warning("could not keep a computed board; it will be computed again", exc_info=True)


def _sweep_due(now: datetime) -> bool:
    """True once every SWEEP_EVERY in each app: only a schedule, so workers need not agree on it."""
    due = current_app.extensions.get(_NEXT_SWEEP)
    if due is not None and now < due:
        return False
    current_app.extensions[_NEXT_SWEEP] = now + SWEEP_EVERY
    return True
