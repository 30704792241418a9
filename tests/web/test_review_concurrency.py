"""Two mentors saving or claiming the same attempt at the same moment: one wins, nothing is written twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.mentoring import assign
from app.models import PointsEntry, Review, ReviewClaim, ReviewRevision
from tests.web.review_support import grade_form, play_with_reply, sign_in


@pytest.fixture
def two_mentors(app, make_user):
    """Mona and Omar both mentor Ayşe, who has an attempt with a written reply."""
    ids = {name: make_user(name, role) for name, role in (("mona", "mentor"), ("omar", "mentor"),
                                                          ("ayse", "trainee"))}
    with app.app_context():
        assign(ids["mona"], ids["mona"], ids["ayse"])
        assign(ids["omar"], ids["omar"], ids["ayse"])
    return play_with_reply(sign_in(app, "ayse"))


def race(requests) -> list[int]:
    """Send the requests from separate threads (each with its own app context) at the same moment."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []

    def send(request) -> None:
        barrier.wait()
        statuses.append(request().status_code)

    threads = [threading.Thread(target=send, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        reviews = db.session.scalar(select(func.count()).select_from(Review))
        revisions = db.session.scalar(select(func.count()).select_from(ReviewRevision))
        rows = db.session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.key.like("review:%")))
        points = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                                   .where(PointsEntry.key.like("review:%")))
        return reviews, revisions, rows, points


@pytest.mark.parametrize("round_", range(3))
def test_two_first_grades_at_once_one_wins_the_other_sees_it(app, two_mentors, round_):
    attempt_id = two_mentors
    mona, omar = sign_in(app, "mona"), sign_in(app, "omar")
    statuses = race([lambda: mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(5)),
                     lambda: omar.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(1))])
    assert statuses == [303, 409]
    reviews, revisions, rows, points = counts(app)
    assert (reviews, revisions, rows) == (1, 1, 1) and points in (25, 5)
    with app.app_context():
        saved = db.session.scalar(select(Review))
        assert saved.points == points


@pytest.mark.parametrize("round_", range(3))
def test_two_edits_of_the_same_revision_at_once_one_wins(app, two_mentors, round_):
    attempt_id = two_mentors
    mona, omar = sign_in(app, "mona"), sign_in(app, "omar")
    assert mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3)).status_code == 303
    statuses = race([lambda: mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(5, revision=1)),
                     lambda: omar.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(0, revision=1))])
    assert statuses == [303, 409]
    reviews, revisions, rows, points = counts(app)
    assert (reviews, revisions, rows) == (1, 2, 2) and points in (25, 0)
    with app.app_context():
        assert db.session.scalar(select(Review.points)) == points


def test_two_claims_at_once_leave_one_holder(app, two_mentors):
    attempt_id = two_mentors
    mona, omar = sign_in(app, "mona"), sign_in(app, "omar")
    statuses = race([lambda: mona.post(f"/review/attempts/{attempt_id}/claim"),
                     lambda: omar.post(f"/review/attempts/{attempt_id}/claim")])
    assert statuses == [303, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReviewClaim)) == 1
