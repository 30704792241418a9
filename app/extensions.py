"""Flask extensions, created once here and bound to an app in create_app."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, current_app, g, request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect, generate_csrf, logger, same_origin, validate_csrf
from wtforms import ValidationError
from htmx_flask import Htmx
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every model."""


class CSRFProtectKeepingToken(CSRFProtect):
    """CSRF protection that signs a session's token once, and checks a signature once, per worker.

    Signing and checking each cost an HMAC and a serialisation. When tokens never expire
    (`WTF_CSRF_TIME_LIMIT` is None), any signature of the session's secret serves a page as well as a
    fresh one: the answer to a checked post carries the very token the post sent, and a page gets the
    token this worker last signed for the same session secret (each worker signs its own; every one of
    them is valid). Whether a signed token is genuine then depends on nothing but the token and the
    key, so a worker remembers what the tokens it has verified stand for, and a post whose token it
    knows is only compared with its session's secret.
    """

    # (signing key, session's raw token) -> signed token; emptied when full.
    SIGNED_KEPT = 4096
    # (signing key, signed token) -> the raw token it proved to carry; emptied when full.
    VERIFIED_KEPT = 4096

    def __init__(self, app: Flask | None = None) -> None:
        self._signed: dict[tuple[Any, str], str] = {}
        self._verified: dict[tuple[Any, str], str] = {}
        super().__init__(app)

    def init_app(self, app: Flask) -> None:
        """Protect the app; templates' `csrf_token()` reuses signed tokens."""
        super().init_app(app)
        app.jinja_env.globals["csrf_token"] = self.page_token
        # Flask-WTF also hands `csrf_token` to every template through a context processor; this one runs later.
        app.context_processor(lambda: {"csrf_token": self.page_token})

    def page_token(self) -> str:
        """The signed CSRF token for this request's page: `generate_csrf`, without signing again what was signed."""
        field = _field_name()
        if current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None or field in g:
            return generate_csrf()
        signing_key = _signing_key()
        raw = session.get(field)
        signed = self._signed.get((signing_key, raw)) if isinstance(raw, str) else None
        if signed is not None:
            setattr(g, field, signed)
            return signed
        signed = generate_csrf()  # creates the session's raw token when it has none
        _keep(self._signed, (signing_key, session[field]), signed, self.SIGNED_KEPT)
        return signed

    def protect(self, apply_exemptions: bool = False) -> None:
        """Validate the request's token; once it passed, let `generate_csrf` hand the same one out."""
        config = current_app.config
        if config.get("WTF_CSRF_TIME_LIMIT") is not None:
            super().protect(apply_exemptions)
            return
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        submitted = self._get_csrf_token()
        try:
            self._validate_never_expiring(submitted)
        except ValidationError as exc:
            logger.info(exc.args[0])
            self._error_response(exc.args[0])
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:
            # Flask-WTF's own check that an HTTPS post comes from a page of this site.
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.setdefault(_field_name(), submitted)
        g.csrf_valid = True

    def _validate_never_expiring(self, submitted: Any) -> None:
        """`validate_csrf`, trusting a signature this worker has verified before under the same key."""
        signing_key = _signing_key()
        raw = session.get(_field_name())
        proven = self._verified.get((signing_key, submitted)) if isinstance(submitted, str) else None
        if proven is None or not isinstance(raw, str):
            validate_csrf(submitted)  # raises ValidationError, with its reason, when the token is not good
            _keep(self._verified, (signing_key, submitted), raw, self.VERIFIED_KEPT)
        elif not hmac.compare_digest(raw, proven):
            raise ValidationError("The CSRF tokens do not match.")


def _field_name() -> str:
    """Where the session keeps its raw CSRF token (and a form sends the signed one), as Flask-WTF reads it."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _signing_key() -> Any:
    """The key CSRF tokens are signed with, as Flask-WTF picks it."""
    return current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key


def _keep(store: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Remember a value, emptying the store first when it holds `limit` entries."""
    if len(store) >= limit:
        store.clear()
    store[key] = value


# Objects stay readable after a commit without a reload; attributes changed by SQL expressions still refresh.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtectKeepingToken()
babel = Babel()
htmx = Htmx()
