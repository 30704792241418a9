"""Whole numbers from the query string, checked the same way on every page."""

from __future__ import annotations

from flask import abort, request

from ..engine.play import is_plain_number
from ..security import MAX_ID


def int_arg(name: str, low: int = 1, high: int = MAX_ID) -> int | None:
    """The query argument `name` as a whole number from `low` to `high`; None when absent, a 400 when wrong."""
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not is_plain_number(raw) or not low <= int(raw) <= high:
        if high == MAX_ID:
            abort(400, description=f"'{name}' must be a whole number from {low} up.")
        abort(400, description=f"'{name}' must be a whole number from {low} to {high}.")
    return int(raw)
