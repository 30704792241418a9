"""Pairing mentors with trainees (trainers and admins) and reading the review audit trail (admins)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import mentoring
from ..engine.play import is_plain_number
from ..security import roles_required
from .htmx import redirect_to, render

bp = Blueprint("mentoring", __name__)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


def _pairs_page(status: int = 200, error: str | None = None) -> Response:
    mentors, trainees = mentoring.candidates()
    return render("mentoring/pairs.html", "mentoring/_pairs.html", status=status, pairs=mentoring.pairs(),
                  mentors=mentors, trainees=trainees, error=error)


def _form_ids() -> tuple[int, int] | None:
    raw = (request.form.get("mentor", ""), request.form.get("trainee", ""))
    if not all(is_plain_number(value) and int(value) >= 1 for value in raw):
        return None
    return int(raw[0]), int(raw[1])


@bp.get("/mentors")
@roles_required("trainer")
def pairs() -> Response:
    """Who mentors whom, with forms to pair and unpair."""
    return _pairs_page()


@bp.post("/mentors")
@roles_required("trainer")
def assign() -> Response:
    """Pair a mentor with a trainee."""
    ids = _form_ids()
    if ids is None:
        return _pairs_page(400, _("Choose a mentor and a trainee."))
    try:
        mentoring.assign(current_user.id, *ids)
    except mentoring.NotFound:
        return _pairs_page(400, _("Choose a mentor and a trainee."))
    except mentoring.Refused as exc:
        return _pairs_page(409, str(exc))
    flash(_("Paired."), "success")
    return redirect_to(url_for("mentoring.pairs"))


@bp.post("/mentors/remove")
@roles_required("trainer")
def unassign() -> Response:
    """End a pair."""
    ids = _form_ids()
    if ids is None:
        return _pairs_page(400, _("Choose a mentor and a trainee."))
    mentoring.unassign(current_user.id, *ids)
    flash(_("Pair removed."), "success")
    return redirect_to(url_for("mentoring.pairs"))


@bp.get("/admin/audit")
@roles_required("admin")
def audit() -> Response:
    """The newest review actions first: who, when, what."""
    action = request.args.get("action") or None
    if action is not None and action not in mentoring.AUDIT_ACTIONS:
        abort(400, description="Unknown action.")
    return render("mentoring/audit.html", "mentoring/audit.html", entries=mentoring.audit_log(action=action),
                  actions=mentoring.AUDIT_ACTIONS, chosen=action)
