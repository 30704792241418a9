"""Trainees browse courses, follow their modules in order and read lessons: thin views over app.courses."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import courses

bp = Blueprint("courses", __name__, url_prefix="/courses")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


@bp.get("")
@login_required
def catalogue():
    """Every course with the trainee's progress."""
    return render_template("courses/catalogue.html", items=courses.course_catalogue(current_user.id))


@bp.get("/<content_id>")
@login_required
def course(content_id: str):
    """A course's modules in order, which are open, and the trainee's progress."""
    try:
        progress = courses.course_progress(current_user.id, content_id)
    except courses.NotFound:
        abort(404)
    return render_template("courses/course.html", progress=progress)


@bp.get("/<content_id>/lessons/<id:number>")
@login_required
def lesson(content_id: str, number: int):
    """Read a lesson; opening it counts it as done."""
    try:
        view = courses.open_lesson(current_user.id, content_id, number)
    except courses.NotFound:
        abort(404)
    except courses.Locked as exc:
        abort(403, description=str(exc))
    if view.finished_course:
        flash(_("Course finished: %(title)s", title=view.progress.course.title), "toast")
    for badge in view.badges:
        flash(_("Badge earned: %(name)s", name=badge.name), "toast")
    return render_template("courses/lesson.html", view=view, progress=view.progress)
