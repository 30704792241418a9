"""The platform's clock, one seam that tests replace to move time without sleeping."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """The current time, timezone-aware in UTC (tests monkeypatch this function)."""
    return datetime.now(timezone.utc)


def aware(moment: datetime) -> datetime:
    """A stored moment with its time zone: SQLite hands back naive datetimes, and every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
