"""The platform's clock, one seam that tests replace to move time without sleeping."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """The current time, timezone-aware in UTC (tests monkeypatch this function)."""
    return datetime.now(timezone.utc)
