"""Mentors at work: the review queue, claims, one attempt's review sheet, and the overview of their trainees."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, flash, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import mentor_overview, review_queue, reviews
from ..engine.play import is_plain_number
from ..mentoring import my_trainees
from ..security import roles_required
from .args import int_arg
from .htmx import is_partial, redirect_to, render

bp = Blueprint("review", __name__, url_prefix="/review")
MENTOR = "mentor"


def init_app(app: Flask) -> None:
    """Register the blueprint and the header's review counts."""
    app.register_blueprint(bp)
    app.context_processor(_header_counts)


def _header_counts() -> dict[str, Any]:
    """The review queue's size for mentors and new reviews for trainees, computed only when a page asks."""
    def queue_count() -> int:
        return review_queue.queue_count(current_user.id)

    def unseen_count() -> int:
        count = current_user.unseen_reviews
        _announce_new_reviews(count)
        return count

    def retry_requests() -> list[reviews.RetryView]:
        return reviews.open_retry_requests(current_user.id)

    return {"review_queue_count": queue_count, "unseen_review_count": unseen_count,
            "open_retry_requests": retry_requests}


def _announce_new_reviews(count: int) -> None:
    """A toast when more reviews are waiting than this browser was last told of (kept in the signed session)."""
    told = session.get("reviews_announced", 0)
    if count > told:
        flash(ngettext("A mentor reviewed your work: %(num)d new review.",
                       "Mentors reviewed your work: %(num)d new reviews.", count), "toast")
    if count != told:
        session["reviews_announced"] = count



@bp.get("/queue")
@roles_required(MENTOR)
def queue() -> Response:
    """Attempts of the mentor's trainees waiting for a review, oldest first, filterable by trainee and scenario."""
    trainee_id = int_arg("trainee")
    content_id = request.args.get("scenario") or None
    items = review_queue.queue(current_user.id, trainee_id, content_id)
    everything = review_queue.queue(current_user.id) if trainee_id or content_id else items
    scenarios = sorted({(item.content_id, item.title) for item in everything}, key=lambda pair: pair[1].casefold())
    return render("review/queue.html", "review/_queue_items.html", items=items, trainees=my_trainees(current_user.id),
                  scenarios=scenarios, chosen_trainee=trainee_id, chosen_scenario=content_id,
                  questions=review_queue.open_questions(current_user.id))


def _sheet(attempt_id: int, status: int = 200, error: str | None = None, draft: dict[str, str] | None = None,
           notice: str | None = None) -> Response:
    try:
        transcript = reviews.mentor_transcript(current_user.id, attempt_id)
    except reviews.NotFound:
        abort(404)
    return render("review/sheet.html", "review/_sheet.html", status, t=transcript, error=error, draft=draft,
                  notice=notice, claim=review_queue.claim_holder(attempt_id), send_counts=is_partial(),
                  bonus_cap=current_app.config["MENTOR_BONUS_CAP"])


def _done(attempt_id: int, notice: str | None = None) -> Response:
    """After a change: the sheet fragment for htmx, a 303 back to the sheet otherwise."""
    if is_partial():
        return _sheet(attempt_id, notice=notice)
    return redirect_to(url_for("review.sheet", attempt_id=attempt_id))


@bp.get("/attempts/<id:attempt_id>")
@roles_required(MENTOR)
def sheet(attempt_id: int) -> Response:
    """One attempt as the trainee saw it, with comments per turn, the rubric and the grade form."""
    return _sheet(attempt_id)


@bp.post("/attempts/<id:attempt_id>/claim")
@roles_required(MENTOR)
def claim(attempt_id: int) -> Response:
    """Claim the attempt (or renew one's claim) so other mentors leave it alone for a while."""
    try:
        review_queue.claim(current_user.id, attempt_id)
    except review_queue.NotFound:
        abort(404)
    except review_queue.Taken as exc:
        return _sheet(attempt_id, 409, error=str(exc))
    return _done(attempt_id)


@bp.post("/attempts/<id:attempt_id>/release")
@roles_required(MENTOR)
def release(attempt_id: int) -> Response:
    """Give the attempt back to the queue."""
    try:
        review_queue.release(current_user.id, attempt_id)
    except review_queue.NotFound:
        abort(404)
    return _done(attempt_id)


def _step_number() -> int | None:
    raw = request.form.get("step", "")
    return int(raw) if is_plain_number(raw) and int(raw) >= 1 else None


@bp.post("/attempts/<id:attempt_id>/comments")
@roles_required(MENTOR)
def comment(attempt_id: int) -> Response:
    """Comment on one turn of the transcript."""
    step = _step_number()
    try:
        if step is None:
            reviews.mentor_transcript(current_user.id, attempt_id)  # someone else's attempt stays a 404
            raise reviews.Invalid("Choose the turn to comment on.")
        reviews.add_comment(current_user.id, attempt_id, step, request.form.get("body", ""))
    except reviews.NotFound:
        abort(404)
    except reviews.Invalid as exc:
        return _sheet(attempt_id, 400, error=str(exc), draft={f"comment-{step}": request.form.get("body", "")})
    return _done(attempt_id)


@bp.post("/attempts/<id:attempt_id>/grade")
@roles_required(MENTOR)
def grade(attempt_id: int) -> Response:
    """Save the grade as a new revision; a grade saved by someone else meanwhile is shown, not overwritten."""
    draft = request.form.to_dict()
    revision = draft.get("revision", "")
    try:
        transcript = reviews.mentor_transcript(current_user.id, attempt_id)
        if not is_plain_number(revision):
            raise reviews.Invalid("The form is missing its revision number; reload the page and try again.")
        parsed = reviews.parse_grade(transcript.rubric, draft, int(current_app.config["MENTOR_BONUS_CAP"]))
        reviews.save_review(current_user.id, attempt_id, int(revision), parsed)
    except reviews.NotFound:
        abort(404)
    except reviews.Invalid as exc:
        return _sheet(attempt_id, 400, error=str(exc), draft=draft)
    except reviews.Refused as exc:
        return _sheet(attempt_id, 409, error=str(exc), draft=draft)
    except reviews.Conflict as exc:
        # Show the grade that won; the loser's text is offered back for copying, never saved over it.
        return _sheet(attempt_id, 409, error=" ".join((str(exc), _("Here is the saved grade."))),
                      draft={"lost_comment": draft.get("comment", "")})
    return _done(attempt_id, notice="saved")


@bp.post("/attempts/<id:attempt_id>/retry")
@roles_required(MENTOR)
def retry(attempt_id: int) -> Response:
    """Ask the trainee to play the scenario again, with a note."""
    try:
        reviews.request_retry(current_user.id, attempt_id, request.form.get("note", ""))
    except reviews.NotFound:
        abort(404)
    except reviews.Invalid as exc:
        return _sheet(attempt_id, 400, error=str(exc), draft={"note": request.form.get("note", "")})
    except reviews.Refused as exc:
        return _sheet(attempt_id, 409, error=str(exc))
    return _done(attempt_id)


@bp.get("/overview")
@roles_required(MENTOR)
def overview() -> Response:
    """Each trainee's numbers and where the group most often goes wrong."""
    return render("review/overview.html", "review/overview.html", rows=mentor_overview.trainee_rows(current_user.id),
                  spots=mentor_overview.trouble_spots(current_user.id))


@bp.get("/trainees/<id:trainee_id>")
@roles_required(MENTOR)
def trainee(trainee_id: int) -> Response:
    """One trainee: rubric averages over time, attempts and open retry requests."""
    try:
        detail = mentor_overview.trainee_overview(current_user.id, trainee_id)
    except mentor_overview.NotFound:
        abort(404)
    return render("review/trainee.html", "review/trainee.html", detail=detail)
