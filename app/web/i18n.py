"""Template gettext that looks the request's translations up once, not once per string."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_babel import get_translations


def _translations() -> Any:
    # Flask-Babel finds the catalogue through the locale on every call; a page asks for dozens of strings.
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    """Replace the template gettext callables Flask-Babel installed with ones that reuse the request's catalogue."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda string: _translations().ugettext(string),
        ngettext=lambda singular, plural, n: _translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: _translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: _translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
