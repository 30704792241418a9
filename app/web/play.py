"""Trainees browse the library and play attempts: thin views over the play use cases."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import attempts
from .. import catalogue as library
from ..engine.play import Action, is_plain_number
from ..database import writes_through_write
from ..game_rules import level_for
from ..models.content import SCENARIO_KINDS
from ..points import HeaderPoints
from ..signed_in import read_with_user
from .args import int_arg
from .htmx import is_partial, redirect_to, render, render_or_build
from .rendered_scenes import play_region
from .toasts import announce

bp = Blueprint("play", __name__)

MAX_REPLY_CHARS = 10_000


def init_app(app: Flask) -> None:
    """Register the blueprint and the header's points counter."""
    app.register_blueprint(bp)
    app.context_processor(_header_points)
    # Both views start by reading the attempt their URL names: it comes in the statement that loads the user.
    for endpoint in ("play.attempt", "play.act"):
        read_with_user(app, endpoint, attempts.signed_in_with_attempt)


def _header_points() -> dict[str, object]:
    user = current_user._get_current_object()  # resolved once: the proxy looks the user up on every use
    if not user.is_authenticated:
        return {"header_points": HeaderPoints(0), "oob": False}
    return {"header_points": HeaderPoints(user.points_total, g.get("attempt_points")), "oob": False}


@bp.get("/")
def index():
    """Send people to the library (or to sign in)."""
    return redirect(url_for("play.catalogue"))



@bp.get("/library")
@login_required
def catalogue():
    """The scenario catalogue with filters for skill, difficulty, language and kind."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in SCENARIO_KINDS:
        abort(400, description="Unknown kind of scenario.")
    filters = library.Filters(skill=request.args.get("skill") or None, difficulty=int_arg("difficulty", 1, 5),
                                language=request.args.get("language") or None, kind=kind)
    items = library.browse(current_user.id, filters)
    return render("play/catalogue.html", "play/_catalogue_items.html", items=items, filters=filters,
                  skills=library.skill_names(), languages=library.languages())


@bp.post("/library/<content_id>/start")
@login_required
def start(content_id: str):
    """Start a new attempt, or resume the running one."""
    try:
        attempt_id = attempts.start_attempt(current_user.id, content_id)
    except attempts.NotFound:
        abort(404)
    except attempts.Conflict as exc:
        abort(409, description=str(exc))
    return redirect_to(url_for("play.attempt", attempt_id=attempt_id))


@bp.get("/attempts")
@login_required
def my_attempts():
    """The trainee's own attempts."""
    return render_template("play/attempts.html", attempts=library.my_attempts(current_user.id))


def _state_or_404(attempt_id: int) -> attempts.AttemptState:
    try:
        return attempts.load_attempt(current_user.id, attempt_id)
    except attempts.NotFound:
        abort(404)


def _render_state(state: attempts.AttemptState, status: int = 200, error: str | None = None, oob: bool = False):
    if state.attempt.status == "active":
        g.attempt_points = state.playthrough.points
    return render_or_build("play/attempt.html", lambda: play_region(state, error, send_points=oob), status,
                           state=state, error=error)


@bp.get("/attempts/<id:attempt_id>")
@login_required
def attempt(attempt_id: int):
    """The current scene of a running attempt, or the result and transcript of a finished one."""
    return _render_state(_state_or_404(attempt_id))


def _action_from_form() -> tuple[int, Action] | str:
    """The step number and action a form sends, or what is wrong with it."""
    form = request.form
    step = form.get("step", "")
    if not is_plain_number(step) or int(step) < 1:
        return "The form is missing its step number; reload the page and try again."
    given = [key for key in ("choice", "reply", "option") if key in form]
    if len(given) != 1:
        return "Choose one answer."
    value = form[given[0]]
    if given[0] == "reply":
        if len(value) > MAX_REPLY_CHARS:
            return "That reply is far too long."
        return int(step), Action("reply", value)
    if given[0] == "option":
        if not is_plain_number(value):
            return "Choose one of the options."
        return int(step), Action("answer", value)
    return int(step), Action("choose", value)


@bp.post("/attempts/<id:attempt_id>/act")
@writes_through_write
@login_required
def act(attempt_id: int):
    """Record one choice, reply or answer; only what the stored version offers now is accepted."""
    parsed = _action_from_form()
    if isinstance(parsed, str):
        _state_or_404(attempt_id)  # someone else's attempt stays a 404, whatever the form says
        abort(400, description=parsed)
    step_number, action = parsed
    try:
        state = attempts.act(current_user.id, attempt_id, step_number, action)
    except attempts.NotFound:
        abort(404)
    except attempts.Refused as exc:
        return _render_state(_state_or_404(attempt_id), 422, error=str(exc))
    except attempts.Conflict as exc:
        return _render_state(_state_or_404(attempt_id), 409, error=str(exc))
    _announce(state.rewards)
    if not is_partial():
        return redirect_to(url_for("play.attempt", attempt_id=attempt_id))
    return _render_state(state, oob=True)


def _announce(rewards: attempts.Rewards) -> None:
    """Queue toasts for what an action earned; htmx shows them at once, a plain form on the next page."""
    if rewards.step_points > 0:
        announce(_("+%(points)d points", points=rewards.step_points))
    if rewards.added_to_total > 0:
        announce(_("Your total rose by %(points)d points.", points=rewards.added_to_total))
    for title in rewards.finished_courses:
        announce(_("Course finished: %(title)s", title=title))
    for badge in rewards.badges:
        announce(_("Badge earned: %(name)s", name=badge.name))
    if rewards.added_to_total > 0:
        total = int(current_user.points_total or 0)
        before, after = level_for(total - rewards.added_to_total), level_for(total)
        if after.number > before.number:
            announce(_("Level up! You are now %(level)s.", level=after.level.name))


@bp.post("/attempts/<id:attempt_id>/restart")
@login_required
def restart(attempt_id: int):
    """Abandon this attempt if it is running and start the scenario again."""
    try:
        new_id = attempts.restart_attempt(current_user.id, attempt_id)
    except attempts.NotFound:
        abort(404)
    except attempts.Conflict as exc:
        abort(409, description=str(exc))
    return redirect_to(url_for("play.attempt", attempt_id=new_id))
