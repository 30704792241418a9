"""Toasts: short announcements shown at once after an htmx action, or on the next page without JavaScript."""

from __future__ import annotations

from flask import Flask, flash, g, get_flashed_messages

from .htmx import is_partial


def announce(message: str) -> None:
    """Queue a toast: into this response for an htmx request, else into the session for the next page."""
    if is_partial():
        # The fragment carries it out-of-band now; leaving the session alone spares re-signing its cookie.
        g.setdefault("toasts", []).append(message)
    else:
        flash(message, "toast")


def pending_toasts() -> list[str]:
    """The toasts this response shows: its own, then any an earlier request left in the session."""
    return [*g.get("toasts", ()), *get_flashed_messages(category_filter=["toast"])]


def init_app(app: Flask) -> None:
    """Let templates ask for the pending toasts."""
    app.jinja_env.globals["pending_toasts"] = pending_toasts
