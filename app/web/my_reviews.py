"""Trainees read their reviews beside the transcript and may reply once with a question."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, request, url_for
from flask_login import current_user, login_required

from .. import reviews, trainee_reviews
from .htmx import is_partial, redirect_to, render

bp = Blueprint("my_reviews", __name__, url_prefix="/reviews")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


@bp.get("")
@login_required
def mine() -> Response:
    """The trainee's reviews, newest first, and open requests to play a scenario again."""
    return render("reviews/mine.html", "reviews/mine.html", reviews=trainee_reviews.my_reviews(current_user.id),
                  retries=reviews.open_retry_requests(current_user.id))


def _review_page(review_id: int, status: int = 200, error: str | None = None, draft: str = "") -> Response:
    try:
        transcript = trainee_reviews.open_review(current_user.id, review_id)
    except trainee_reviews.NotFound:
        abort(404)
    return render("reviews/review.html", "reviews/_question.html", status, t=transcript, review_id=review_id,
                  error=error, draft=draft)


@bp.get("/<id:review_id>")
@login_required
def review(review_id: int) -> Response:
    """One review: the rubric, the mentor's comments beside the turns they refer to, bonus points."""
    return _review_page(review_id)


@bp.post("/<id:review_id>/question")
@login_required
def question(review_id: int) -> Response:
    """Reply once to the review with a question."""
    text = request.form.get("question", "")
    try:
        trainee_reviews.ask_question(current_user.id, review_id, text)
    except trainee_reviews.NotFound:
        abort(404)
    except trainee_reviews.Invalid as exc:
        return _review_page(review_id, 400, str(exc), text)
    except trainee_reviews.Refused as exc:
        return _review_page(review_id, 409, str(exc))
    if is_partial():
        return _review_page(review_id)
    return redirect_to(url_for("my_reviews.review", review_id=review_id))
