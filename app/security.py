"""Response hardening, session loading with revocable tokens, role checks and locale choice."""

from __future__ import annotations

import time
from functools import lru_cache, wraps
from typing import Any, Callable, TypeVar

from flask import Flask, Response, abort, current_app, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from babel import Locale
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.routing import IntegerConverter
from flask_login import current_user

from .extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# Session values a view cannot change in place: a session made only of these may be shared between requests.
PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})

# The largest id a database integer column holds; ids in URLs and query strings stay within it.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A database id in a URL: a positive whole number that fits the database's integer column."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, with its serializer built and each cookie checked once per set of keys.

    A browser sends the same cookie until the session changes, so the worker remembers what a cookie it
    has verified held (at most `DECODED_KEPT` of them) and only checks its age again. Only sessions of
    plain values are remembered: a view may change a list or dict inside the session in place.
    """

    DECODED_KEPT = 4096

    def __init__(self) -> None:
        self._serializer: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None
        # cookie -> (its values, when it was signed, as Unix seconds); emptied when full or the keys change.
        self._decoded: dict[str, tuple[dict[str, Any], int]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The serializer for the app's current secret key and fallbacks (built again should they change)."""
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializer
        if cached is None or cached[0] != keys:
            self._decoded = {}
            cached = self._serializer = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The session the request's cookie holds: Flask's answer, without verifying a known cookie again."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._decoded.get(cookie)
        if known is not None:
            age = int(time.time()) - known[1]
            return self.session_class(known[0] if 0 <= age <= max_age else {})
        try:
            data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(type(value) in PLAIN_VALUES for value in data.values()):
            if len(self._decoded) >= self.DECODED_KEPT:
                self._decoded = {}
            self._decoded[cookie] = (dict(data), int(signed_at.timestamp()))
        return self.session_class(data)


def init_app(app: Flask) -> None:
    """Install the session cookies, the user loader, the login view, the input guard and the security headers."""
    app.session_interface = SessionCookies()
    app.url_map.converters["id"] = IdConverter
    app.before_request(_refuse_nul_bytes)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.after_request(_harden)


def load_user(login_id: str) -> Any:
    """Find the user for a session or remember-me id `USERID:TOKEN`; a rotated token no longer matches."""
    from .signed_in import load_for_request

    user_id, _, token = login_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token or int(user_id) > MAX_ID:
        return None
    return load_for_request(int(user_id), token)


def _refuse_nul_bytes() -> None:
    """No text field has a use for NUL, and PostgreSQL cannot store one: refuse it up front with a 400."""
    values = [request.path, *request.args.values()]
    if request.method == "POST":
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        abort(400, description="The request contains a NUL character, which no field accepts.")


def _unauthorized() -> Response:
    from .web.htmx import redirect_to
    from flask import url_for

    if request.method != "GET":
        # A form sent after the session ended cannot be replayed by a GET; start again from the library.
        return redirect_to(url_for("auth.login"))
    return redirect_to(url_for("auth.login", next=request.full_path.rstrip("?")))


def _harden(response: Response) -> Response:
    # One pass over the headers a view set, instead of one search per header added.
    present = {name.lower() for name, _value in response.headers}
    response.headers.extend((name, value) for name, value in HEADERS.items() if name.lower() not in present)
    if current_app.config.get("SESSION_COOKIE_SECURE") and "strict-transport-security" not in present:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let only signed-in users with one of the roles (or admins) through; others get a 404."""
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.has_role(*roles):
                abort(404)
            return view(*args, **kwargs)
        return guarded  # type: ignore[return-value]
    return decorate


def pick_locale() -> Locale | None:
    """The interface language: the browser's best match among the configured ones (default outside requests)."""
    if not has_request_context():
        return None
    return _best_locale(request.headers.get("Accept-Language", ""), tuple(current_app.config["LANGUAGES"]))


@lru_cache(maxsize=256)
def _best_locale(accept_language: str, offered: tuple[str, ...]) -> Locale:
    # Browsers send the same few headers again and again, and Flask-Babel parses whatever the selector
    # returns on every request unless it is a Locale already.
    return Locale.parse(parse_accept_header(accept_language, LanguageAccept).best_match(offered) or "en")
