"""The trainers' studio: paste or upload YAML, check it as you type, preview it, publish it, download it."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from .. import preview as previews
from .. import publishing
from ..engine.play import Action, is_plain_number
from ..engine.problems import ContentError
from ..engine.yamlsafe import MAX_BYTES, decode
from ..security import roles_required
from .htmx import is_partial, redirect_to, render

bp = Blueprint("studio", __name__, url_prefix="/studio")

MAX_LESSONS = 100
MAX_REPLY_CHARS = 10_000


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


@bp.get("")
@roles_required("trainer")
def index() -> str:
    """Every scenario, case study and course, where it comes from, and what a trainer can do with it."""
    return render_template("studio/index.html", entries=publishing.studio_entries())


@bp.get("/new")
@roles_required("trainer")
def new() -> Response:
    """An empty editor for new content."""
    return _editor(publishing.check_draft(publishing.Draft("")), pristine=True)


@bp.get("/<content_id>/edit")
@roles_required("trainer")
def edit(content_id: str) -> Response:
    """The editor holding the newest published version of an id."""
    try:
        draft = publishing.open_draft(content_id)
    except publishing.NotFound:
        abort(404)
    return _editor(publishing.check_draft(draft), history=publishing.history(content_id))


def _upload_text(upload: FileStorage | None) -> str | None:
    """The text of an uploaded file, or None when none was sent; a 400 for a file that is not UTF-8."""
    if upload is None or not upload.filename:
        return None
    try:
        return publishing.normalise(decode(upload.read(MAX_BYTES + 1)))  # one byte over: decode refuses the size
    except ContentError as exc:
        abort(400, description=_("The uploaded file %(name)s cannot be read: %(reason)s",
                                 name=upload.filename, reason=exc.problems[0].message))


def _draft_from_form() -> publishing.Draft:
    """The draft the editor (or a preview page) sends; uploaded files replace the pasted text."""
    form = request.form
    text = _upload_text(request.files.get("file"))
    if text is None:
        text = publishing.normalise(form.get("text", ""))
    lessons: dict[str, str] = {}
    for index in range(MAX_LESSONS):
        path = form.get(f"lesson_path-{index}")
        if path is None:
            break
        uploaded = _upload_text(request.files.get(f"lesson_file-{index}"))
        lessons[path] = uploaded if uploaded is not None else publishing.normalise(form.get(f"lesson_text-{index}", ""))
    base = form.get("base", "0")
    if not is_plain_number(base):
        abort(400, description=_("The form is missing the version it was opened from; open the editor again."))
    return publishing.Draft(text, lessons, form.get("replaces") or None, int(base))


def _editor(check: publishing.DraftCheck, status: int = 200, error: str | None = None, pristine: bool = False,
            history: list | None = None) -> Response:
    return render("studio/editor.html", "studio/_problems.html", status=status, check=check, error=error,
                  pristine=pristine, history=history or [], oob_lessons=is_partial() and _lessons_changed(check))


def _lessons_changed(check: publishing.DraftCheck) -> bool:
    """True when the course now names other lessons than the editor shows, so the lesson boxes are redrawn."""
    shown = [request.form.get(f"lesson_path-{index}") for index in range(MAX_LESSONS)]
    return [path for path in shown if path is not None] != check.lesson_paths


@bp.post("/check")
@roles_required("trainer")
def check() -> Response:
    """Check the draft: the problem list as you type (htmx), or the whole editor (the Check button)."""
    return _editor(publishing.check_draft(_draft_from_form()))


@bp.post("/publish")
@roles_required("trainer")
def publish() -> Response:
    """Publish a draft with no errors as the next version of its id; a refused draft comes back with its problems."""
    draft = _draft_from_form()
    try:
        published = publishing.publish(current_user.id, draft)
    except publishing.Refused as exc:
        return _full_editor(exc.check, 422, _("Not published: fix the errors below first."))
    except publishing.Stale as exc:
        return _full_editor(publishing.check_draft(draft), 409, _(
            "Not published: someone else published %(id)s (now version %(number)s) while you were editing. "
            "Your text is still below; open the newest version to compare.", id=exc.content_id, number=exc.number))
    if published.new:
        flash(_("Published %(id)s as version %(number)s.", id=published.content_id, number=published.number),
              "success")
    else:
        flash(_("%(id)s version %(number)s already has exactly this text; nothing new was published.",
                id=published.content_id, number=published.number), "info")
    return redirect_to(url_for("studio.edit", content_id=published.content_id))


def _full_editor(check: publishing.DraftCheck, status: int, error: str) -> Response:
    """The whole editor page, even for htmx: a refused publish replaces the page, keeping the text."""
    response = make_response(render_template("studio/editor.html", check=check, error=error, pristine=False,
                                             history=[]), status)
    response.headers.add("Vary", "HX-Request")
    if request.headers.get("HX-Request") == "true":
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.get("/<content_id>/download")
@roles_required("trainer")
def download(content_id: str) -> Response:
    """The YAML exactly as stored: the library's current version, or publication `?version=N`."""
    raw = request.args.get("version")
    if raw is not None and (not is_plain_number(raw) or int(raw) < 1):
        abort(400, description=_("'version' must be a whole number from 1."))
    try:
        text = publishing.download(content_id, int(raw) if raw else None)
    except publishing.NotFound:
        abort(404)
    response = make_response(text.encode("utf-8"))
    response.headers["Content-Type"] = "application/yaml; charset=utf-8"
    suffix = f"-v{raw}" if raw else ""
    response.headers["Content-Disposition"] = f'attachment; filename="{content_id}{suffix}.yaml"'
    return response


def _step_from_form() -> tuple[Action | None, str | None]:
    """The action or jump a preview form sends (none when it only starts or restarts the preview)."""
    form = request.form
    if "jump" in form:
        return None, form["jump"]
    if "choice" in form:
        return Action("choose", form["choice"]), None
    if "option" in form:
        if not is_plain_number(form["option"]):
            abort(400, description=_("Choose one of the options."))
        return Action("answer", form["option"]), None
    if "reply" in form:
        if len(form["reply"]) > MAX_REPLY_CHARS:
            abort(400, description=_("That reply is far too long."))
        return Action("reply", form["reply"]), None
    return None, None


def _render_preview(preview: previews.Preview, draft: publishing.Draft | None = None,
                    content_id: str | None = None) -> Response:
    return render("studio/preview.html", "studio/_preview_region.html", status=422 if preview.error else 200,
                  preview=preview, draft=draft, content_id=content_id)


@bp.get("/<content_id>/preview")
@roles_required("trainer")
def preview(content_id: str) -> Response:
    """Start a preview of the version the library offers now; nothing is recorded."""
    try:
        return _render_preview(previews.preview_stored(content_id), content_id=content_id)
    except previews.NotFound:
        pass
    try:
        return _render_course(previews.preview_course(content_id))
    except previews.NotFound:
        abort(404)


@bp.post("/<content_id>/preview")
@roles_required("trainer")
def preview_step(content_id: str) -> Response:
    """One preview step or jump. Nothing is stored, so the answer is the page itself: its state is in the form."""
    action, jump = _step_from_form()
    token = request.form.get("state") or None
    if request.form.get("restart"):
        token = None
    try:
        result = previews.preview_stored(content_id, token, action, jump)
    except previews.NotFound:
        abort(404)
    except previews.BadState as exc:
        abort(400, description=str(exc))
    return _render_preview(result, content_id=content_id)


@bp.post("/preview")
@roles_required("trainer")
def preview_draft() -> Response:
    """Preview the draft in the editor (or take a step in it); a draft with errors returns to the editor."""
    draft = _draft_from_form()
    action, jump = _step_from_form()
    token = None if request.form.get("restart") else request.form.get("state") or None
    try:
        result = previews.preview_draft(draft, token, action, jump)
    except previews.BadState as exc:
        abort(400, description=str(exc))
    if isinstance(result, publishing.DraftCheck):
        return _full_editor(result, 422, _("Fix the errors below before previewing."))
    if isinstance(result, previews.CoursePreview):
        return _render_course(result, draft)
    return _render_preview(result, draft=draft)


def _render_course(course: previews.CoursePreview, draft: publishing.Draft | None = None) -> Response:
    return make_response(render_template("studio/course_preview.html", preview=course, draft=draft))
