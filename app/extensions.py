"""Flask extensions, created once here and bound to an app in create_app."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect, generate_csrf
from htmx_flask import Htmx
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


class CSRFProtectKeepingToken(CSRFProtect):
    """CSRF protection that signs a session's token once rather than on every page and post.

    Signing costs an HMAC and a serialisation. When tokens never expire (`WTF_CSRF_TIME_LIMIT` is None),
    any signature of the session's secret serves a page as well as a fresh one: the answer to a checked
    post carries the very token the post sent, and a page gets the token this worker last signed for
    the same session secret (each worker signs its own; every one of them is valid).
    """

    # (signing key, session's raw token) -> signed token; emptied when full.
    SIGNED_KEPT = 4096

    def __init__(self, app: Flask | None = None) -> None:
        self._signed: dict[tuple[Any, str], str] = {}
        super().__init__(app)

    def init_app(self, app: Flask) -> None:
        """Protect the app; templates' `csrf_token()` reuses signed tokens."""
        super().init_app(app)
        app.jinja_env.globals["csrf_token"] = self.page_token
        # Flask-WTF also hands `csrf_token` to every template through a context processor; this one runs later.
        app.context_processor(lambda: {"csrf_token": self.page_token})

    def page_token(self) -> str:
        """The signed CSRF token for this request's page: `generate_csrf`, without signing again what was signed."""
        config = current_app.config
        field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        if config.get("WTF_CSRF_TIME_LIMIT") is not None or field in g:
            return generate_csrf()
        signing_key = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        raw = session.get(field)
        signed = self._signed.get((signing_key, raw)) if isinstance(raw, str) else None
        if signed is not None:
            setattr(g, field, signed)
            return signed
        signed = generate_csrf()  # creates the session's raw token when it has none
        if len(self._signed) >= self.SIGNED_KEPT:
            self._signed.clear()
        self._signed[(signing_key, session[field])] = signed
        return signed

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
