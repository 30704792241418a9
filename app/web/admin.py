"""User administration for admins: list, create, change role, reset password, (de)activate, import a team."""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, Flask, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import accounts
from ..account_import import import_users
from ..models.users import ROLES, User
from ..security import roles_required
from .htmx import redirect_to, render

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


def _users_page(status: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Response:
    return render("admin/users.html", "admin/_users_table.html", status=status, users=accounts.list_users(),
                  roles=ROLES, error=error, form=form or {"username": "", "display_name": "", "role": "trainee"})


def _change(change: Callable[[], User], done: Callable[[User], str]) -> Response:
    """Run one change to a user: 404 for an unknown id, 409 for a refused change, 400 for bad input."""
    try:
        user = change()
    except accounts.NoSuchUser:
        abort(404)
    except accounts.Refused as exc:
        return _users_page(status=409, error=str(exc))
    except accounts.AccountError as exc:
        return _users_page(status=400, error=str(exc))
    flash(done(user), "success")
    return redirect_to(url_for("admin.users"))


@bp.get("/users")
@roles_required("admin")
def users() -> Response:
    """Every account, with a form to add one."""
    return _users_page()


@bp.post("/users")
@roles_required("admin")
def create() -> Response:
    """Add one account."""
    form = {key: request.form.get(key, "") for key in ("username", "display_name", "role")}
    try:
        user = accounts.create_user(form["username"], request.form.get("password", ""), role=form["role"],
                                    display_name=form["display_name"])
    except accounts.NameTaken as exc:
        return _users_page(status=409, error=str(exc), form=form)
    except accounts.AccountError as exc:
        return _users_page(status=400, error=str(exc), form=form)
    flash(_("Created %(name)s.", name=user.username), "success")
    return redirect_to(url_for("admin.users"))


@bp.post("/users/<id:user_id>/role")
@roles_required("admin")
def role(user_id: int) -> Response:
    """Give a user another role (this signs them out, so the new role applies at once)."""
    new_role = request.form.get("role", "")
    return _change(lambda: accounts.set_role(user_id, new_role, by=current_user.id),
                   lambda user: _("%(name)s now has the role %(role)s.", name=user.username, role=user.role))


@bp.post("/users/<id:user_id>/password")
@roles_required("admin")
def reset_password(user_id: int) -> Response:
    """Set a new password for a user and sign them out everywhere."""
    password = request.form.get("password", "")
    return _change(lambda: accounts.reset_password(user_id, password),
                   lambda user: _("New password set for %(name)s; their sessions were signed out.",
                                  name=user.username))


@bp.post("/users/<id:user_id>/deactivate")
@roles_required("admin")
def deactivate(user_id: int) -> Response:
    """Stop an account from signing in and end its sessions."""
    return _change(lambda: accounts.set_active(user_id, False, by=current_user.id),
                   lambda user: _("Deactivated %(name)s.", name=user.username))


@bp.post("/users/<id:user_id>/reactivate")
@roles_required("admin")
def reactivate(user_id: int) -> Response:
    """Let a deactivated account sign in again."""
    return _change(lambda: accounts.set_active(user_id, True, by=current_user.id),
                   lambda user: _("Reactivated %(name)s.", name=user.username))


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required("admin")
def import_team() -> Response:
    """Import accounts from a CSV upload or pasted text; the dry run lists every bad line and creates nothing."""
    page, fragment = "admin/import.html", "admin/_import_report.html"
    if request.method == "GET":
        return render(page, fragment, report=None, csv_text="", error=None)
    upload = request.files.get("csv_file")
    data: str | bytes = upload.read() if upload and upload.filename else request.form.get("csv_text", "")
    csv_text = request.form.get("csv_text", "")
    if not data or (isinstance(data, str) and not data.strip()):
        return render(page, fragment, status=400, report=None, csv_text=csv_text,
                      error=_("Choose a CSV file or paste its lines."))
    report = import_users(data, dry_run=request.form.get("action") == "dry-run")
    if report.created:
        flash(_("Imported %(count)d accounts.", count=len(report.usernames)), "success")
        return redirect_to(url_for("admin.users"))
    status = 200 if report.dry_run else 400
    return render(page, fragment, status=status, report=report, csv_text=csv_text, error=None)
