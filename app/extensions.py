"""Flask extensions, created once here and bound to an app in create_app."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


class CSRFProtectKeepingToken(CSRFProtect):
    """CSRF protection whose answer to a checked post carries the very token the post sent.

    Signing a fresh token costs an HMAC and a serialisation on every post; the one just checked is
    bound to the same session secret and never expires (`WTF_CSRF_TIME_LIMIT` is None), so it serves
    the page as well as a new one would.
    """

    def _get_csrf_token(self) -> Any:
        # Called by `protect` for the token it is about to validate, and by nothing else.
        submitted = super()._get_csrf_token()
        g._csrf_submitted = submitted
        return submitted

    def protect(self, apply_exemptions: bool = False) -> None:
        """Validate the request's token; once it passed, let `generate_csrf` hand the same one out."""
        g.pop("_csrf_submitted", None)
        super().protect(apply_exemptions)  # raises CSRFError when the token is missing or wrong
        submitted = g.pop("_csrf_submitted", None)
        if submitted and current_app.config.get("WTF_CSRF_TIME_LIMIT") is None:
            g.setdefault(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), submitted)


# Objects stay readable after a commit without a reload; attributes changed by SQL expressions still refresh.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtectKeepingToken()
babel = Babel()
htmx = Htmx()
