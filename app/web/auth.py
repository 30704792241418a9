"""Sign in and out, change one's own password, and the one-time setup page that creates the first admin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from .. import accounts
from ..signed_in import snapshot_of
from .htmx import redirect_to, render

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Register the blueprint; forms show the password rule the accounts module enforces."""
    app.register_blueprint(bp)
    app.jinja_env.globals["min_password_length"] = accounts.MIN_PASSWORD


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no scheme, host, `//`, backslash or control)."""
    if not target or not target.startswith("/") or "//" in target or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):  # browsers drop tabs and newlines
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _home() -> str:
    return url_for("play.catalogue")


def _throttled(exc: accounts.Throttled, page: str, fragment: str, **context: object) -> Response:
    message = ngettext("Too many attempts, try again in %(num)d minute.",
                       "Too many attempts, try again in %(num)d minutes.", exc.minutes)
    response = render(page, fragment, status=429, error=message, **context)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """The sign-in form; on success, on to `next` when it is a local path, else the library."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if accounts.setup_needed():
            return redirect_to(url_for("auth.setup"))
        if current_user.is_authenticated:
            return redirect_to(target or _home())
        return render("auth/login.html", "auth/_login_form.html", next=target, username="", error=None)
    username = request.form.get("username", "")
    form = {"next": target, "username": username}
    try:
        user = accounts.authenticate(username, request.form.get("password", ""), request.remote_addr)
    except accounts.Throttled as exc:
        return _throttled(exc, "auth/login.html", "auth/_login_form.html", **form)
    if user is None:
        return render("auth/login.html", "auth/_login_form.html", status=401,
                      error=_("Wrong username or password."), **form)
    login_user(snapshot_of(user), remember=request.form.get("remember") == "on")
    return redirect_to(target or _home())


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Sign out here and everywhere else: the old session and remember-me cookies stop working."""
    if current_user.is_authenticated:
        accounts.logout(current_user.id)
    logout_user()
    return redirect_to(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Response:
    """Change one's own password; every other session is signed out, this one stays."""
    page, fragment = "auth/password.html", "auth/_password_form.html"
    if request.method == "GET":
        return render(page, fragment, error=None)
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return render(page, fragment, status=400, error=_("The two new passwords differ."))
    try:
        user = accounts.change_password(current_user.id, request.form.get("old_password", ""), new)
    except accounts.Throttled as exc:
        return _throttled(exc, page, fragment)
    except accounts.AccountError as exc:
        return render(page, fragment, status=400, error=str(exc))
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(snapshot_of(user), remember=remembered)
    flash(_("Your password has changed. Other devices were signed out."), "success")
    return redirect_to(_home())


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response:
    """Create the first admin with the one-time token from the server log; gone once any account exists."""
    if not accounts.setup_needed():
        abort(404)
    page, fragment = "auth/setup.html", "auth/_setup_form.html"
    if request.method == "GET":
        accounts.prepare_setup()
        return render(page, fragment, error=None, username="", display_name="")
    form = {"username": request.form.get("username", ""), "display_name": request.form.get("display_name", "")}
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return render(page, fragment, status=400, error=_("The two passwords differ."), **form)
    try:
        user = accounts.claim_setup(request.form.get("token", ""), form["username"], form["display_name"], password)
    except accounts.SetupClosed:
        abort(404)
    except accounts.WrongSetupToken as exc:
        return render(page, fragment, status=403, error=str(exc), **form)
    except accounts.AccountError as exc:
        return render(page, fragment, status=400, error=str(exc), **form)
    login_user(snapshot_of(user))
    flash(_("Welcome! You are the first admin. Add your team here."), "success")
    return redirect_to(url_for("admin.users"))
