"""Mentors review transcripts: queue, claims, grading into the ledger, comments, retries, the trainee's side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.mentoring import assign
from app.models import PointsEntry, Review, ReviewAudit, ReviewRevision, User
from app.points import ledger_total
from tests.web.review_support import (GOOD_REPLY, HX, grade_form, library_copy, play_to_failure, play_with_reply,
                                      sign_in, start, sync)


@pytest.fixture
def team(app, make_user):
    """Mona mentors Ayşe; Omar mentors nobody; Mehmet is another trainee; Tara trains; Root administers."""
    ids = {name: make_user(name, role, display_name=name.title()) for name, role in (
        ("mona", "mentor"), ("omar", "mentor"), ("ayse", "trainee"), ("mehmet", "trainee"), ("tara", "trainer"),
        ("root", "admin"))}
    with app.app_context():
        assign(ids["root"], ids["mona"], ids["ayse"])
    return ids


@pytest.fixture
def fake_now(monkeypatch):
    """A clock the test moves by hand."""
    moment = [datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


def review_points(app, attempt_id: int) -> list[tuple[str, int]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(PointsEntry.key, PointsEntry.amount).where(PointsEntry.key.like("review:%"),
                                                              PointsEntry.attempt_id == attempt_id)
            .order_by(PointsEntry.id))]


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(ReviewAudit.action).order_by(ReviewAudit.id)))


def test_queue_lists_replies_and_review_scenarios_of_own_trainees_oldest_first(app, team, fake_now, tmp_path):
    sync(app, library_copy(tmp_path))
    ayse, mehmet = sign_in(app, "ayse"), sign_in(app, "mehmet")
    with_reply = play_with_reply(ayse)
    fake_now[0] += timedelta(minutes=5)
    no_reply = play_to_failure(ayse)
    fake_now[0] += timedelta(minutes=5)
    case = start(ayse, "reviewed-case")
    ayse.post(f"/attempts/{case}/act", data={"step": "1", "option": "1"})
    play_with_reply(mehmet)
    mona = sign_in(app, "mona")
    page = mona.get("/review/queue").get_data(as_text=True)
    assert f"queue-item-{with_reply}" in page and f"queue-item-{case}" in page
    assert f"queue-item-{no_reply}" not in page  # no written reply, and the scenario does not ask for review
    assert page.index(f"queue-item-{with_reply}") < page.index(f"queue-item-{case}")  # oldest first
    assert "Mehmet" not in page.split('id="queue-items"')[1]  # not Mona's trainee
    assert 'data-testid="queue-count">2<' in page
    only_case = mona.get("/review/queue?scenario=reviewed-case", headers=HX).get_data(as_text=True)
    assert only_case.lstrip().startswith('<div id="queue-items"')
    assert f"queue-item-{case}" in only_case and f"queue-item-{with_reply}" not in only_case
    by_trainee = mona.get(f"/review/queue?trainee={team['mehmet']}").get_data(as_text=True)
    assert "Nothing waits for a review." in by_trainee
    assert mona.get("/review/queue?trainee=abc").status_code == 400
    admin_page = sign_in(app, "root").get("/review/queue").get_data(as_text=True)
    assert "Mehmet" in admin_page  # admins see every trainee
    assert sign_in(app, "omar").get("/review/queue").get_data(as_text=True).count("queue-item-") == 0


def test_claim_expires_on_the_fake_clock_and_then_another_mentor_may_take_it(app, team, fake_now):
    with app.app_context():
        assign(team["root"], team["omar"], team["ayse"])
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona, omar = sign_in(app, "mona"), sign_in(app, "omar")
    assert mona.post(f"/review/attempts/{attempt_id}/claim").status_code == 303
    taken = omar.post(f"/review/attempts/{attempt_id}/claim")
    assert taken.status_code == 409 and "Mona is reviewing this attempt" in taken.get_data(as_text=True)
    blocked = omar.post(f"/review/attempts/{attempt_id}/grade", data=grade_form())
    assert blocked.status_code == 409 and review_points(app, attempt_id) == []
    assert "Mona (until 09:30)" in omar.get("/review/queue").get_data(as_text=True)
    fake_now[0] += timedelta(minutes=29)
    assert omar.post(f"/review/attempts/{attempt_id}/claim").status_code == 409
    fake_now[0] += timedelta(minutes=2)  # 31 minutes: Mona's claim has lapsed
    assert "Mona (until" not in omar.get("/review/queue").get_data(as_text=True)
    assert omar.post(f"/review/attempts/{attempt_id}/claim").status_code == 303
    assert mona.post(f"/review/attempts/{attempt_id}/claim").status_code == 409
    assert omar.post(f"/review/attempts/{attempt_id}/release").status_code == 303
    assert mona.post(f"/review/attempts/{attempt_id}/claim", headers=HX).status_code == 200
    assert audit_actions(app).count("claim") == 3 and "release" in audit_actions(app)


def test_claim_length_is_a_setting(app_config, app, team, fake_now):
    app.config["REVIEW_CLAIM_MINUTES"] = 5
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{attempt_id}/claim")
    assert "until 09:05" in mona.get(f"/review/attempts/{attempt_id}").get_data(as_text=True)


def test_grade_lands_in_the_ledger_once_and_edits_replace_its_points(app, team):
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    first = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(4, bonus="10"))
    assert first.status_code == 303
    with app.app_context():
        review = db.session.scalar(select(Review))
        key = f"review:{review.id}"
        assert (review.points, review.revision, review.score_total, review.score_max) == (30, 1, 20, 25)
    assert review_points(app, attempt_id) == [(f"{key}:r1", 30)]
    # The same form sent again is a stale revision: nothing changes.
    again = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(4, bonus="10"))
    assert again.status_code == 409 and "Here is the saved grade." in again.get_data(as_text=True)
    edit = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(2, revision=1, bonus="0"))
    assert edit.status_code == 303
    lower = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(5, revision=2, bonus="3"))
    assert lower.status_code == 303
    assert review_points(app, attempt_id) == [(f"{key}:r1", 30), (f"{key}:r2", -20), (f"{key}:r3", 18)]
    history = mona.get(f"/review/attempts/{attempt_id}").get_data(as_text=True).split('data-testid="history"')[1]
    assert "30 points (bonus 10)" in history and "10 points (bonus 0)" in history and "28 points (bonus 3)" in history
    with app.app_context():
        trainee = db.session.get(User, team["ayse"])
        attempt_points = db.session.scalar(select(func.sum(PointsEntry.amount)).where(
            PointsEntry.key.like("attempt:%"), PointsEntry.user_id == team["ayse"]))
        assert trainee.points_total == ledger_total(team["ayse"]) == attempt_points + 28
        assert [r.points for r in db.session.scalars(select(ReviewRevision).order_by(ReviewRevision.number))] == [
            30, 10, 28]
    assert audit_actions(app) == ["pair", "grade", "bonus", "edit", "bonus", "edit", "bonus"]


def test_grade_form_errors_are_400_and_keep_what_was_typed(app, team):
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    too_high = mona.post(f"/review/attempts/{attempt_id}/grade",
                         data=grade_form(6, comment="Keep this text"))
    assert too_high.status_code == 400
    body = too_high.get_data(as_text=True)
    assert "from 0 to 5" in body and "Keep this text" in body
    over_cap = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3, bonus="51"))
    assert over_cap.status_code == 400 and "from 0 to 50" in over_cap.get_data(as_text=True)
    missing = mona.post(f"/review/attempts/{attempt_id}/grade", data={"revision": "0", "score-empathy": "3"})
    assert missing.status_code == 400
    no_revision = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3, revision=0) | {"revision": "x"})
    assert no_revision.status_code == 400
    long_shout = mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3, shout_out="x" * 281))
    assert long_shout.status_code == 400
    assert review_points(app, attempt_id) == []
    app.config["MENTOR_BONUS_CAP"] = 60
    assert mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3, bonus="55")).status_code == 303


def test_scenario_rubric_replaces_the_default(app, team, tmp_path):
    sync(app, library_copy(tmp_path))
    ayse = sign_in(app, "ayse")
    case = start(ayse, "reviewed-case")
    ayse.post(f"/attempts/{case}/act", data={"step": "1", "option": "1"})
    mona = sign_in(app, "mona")
    sheet = mona.get(f"/review/attempts/{case}").get_data(as_text=True)
    assert "Insight (0–4)" in sheet and "Clarity (0–5)" in sheet and "Empathy" not in sheet
    assert mona.post(f"/review/attempts/{case}/grade", data=grade_form(5, ids=("insight", "clarity"))).status_code == 400
    saved = mona.post(f"/review/attempts/{case}/grade", data=grade_form(4, ids=("insight", "clarity")))
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Review.score_max)) == 9


def test_comment_stays_on_its_turn_after_the_scenario_file_changes(app, team, tmp_path):
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    assert mona.post(f"/review/attempts/{attempt_id}/comments",
                     data={"step": "2", "body": "Nice promise <b>here</b>"}).status_code == 303
    # The trainer rewrites the scenario: the reply node moves, is renamed and its prompt changes.
    changed = library_copy(tmp_path)
    path = changed / "scenarios" / "late-delivery.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("goto: check", "goto: explain").replace("  check:\n", "  explain:\n")
    text = text.replace("Explain the delay and what you will do about it.", "Tell them the new plan.")
    path.write_text(text, encoding="utf-8")
    sync(app, changed)
    sheet = mona.get(f"/review/attempts/{attempt_id}").get_data(as_text=True)
    turn_two = sheet.split('data-testid="turn-2"')[1].split('data-testid="turn-3"')[0]
    assert "Explain the delay and what you will do about it." in turn_two  # the version the trainee saw
    assert "Tell them the new plan." not in sheet
    assert GOOD_REPLY in turn_two and "Nice promise &lt;b&gt;here&lt;/b&gt;" in turn_two
    turn_one = sheet.split('data-testid="turn-1"')[1].split('data-testid="turn-2"')[0]
    assert "Nice promise" not in turn_one
    # A later attempt plays the new version; the old comment does not wander onto it.
    later = play_with_reply(sign_in(app, "ayse"))
    assert "Nice promise" not in mona.get(f"/review/attempts/{later}").get_data(as_text=True)


def test_comment_needs_a_real_turn_and_text(app, team):
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    assert mona.post(f"/review/attempts/{attempt_id}/comments", data={"step": "9", "body": "x"}).status_code == 400
    assert mona.post(f"/review/attempts/{attempt_id}/comments", data={"step": "1", "body": "  "}).status_code == 400
    assert mona.post(f"/review/attempts/{attempt_id}/comments", data={"body": "x"}).status_code == 400
    kept = mona.post(f"/review/attempts/{attempt_id}/comments", data={"step": "2", "body": "y" * 5001})
    assert kept.status_code == 400 and "y" * 5001 in kept.get_data(as_text=True)
    swapped = mona.post(f"/review/attempts/{attempt_id}/comments", data={"step": "1", "body": "Good start"},
                        headers=HX)
    body = swapped.get_data(as_text=True)
    assert swapped.status_code == 200 and body.lstrip().startswith('<div id="review-sheet"') and "Good start" in body
    assert '<span id="review-counts" class="review-counts" hx-swap-oob="true">' in body and "<html" not in body


def test_trainee_sees_review_beside_turns_counts_it_once_and_may_ask_once(app, team):
    ayse = sign_in(app, "ayse")
    attempt_id = play_with_reply(ayse)
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{attempt_id}/comments", data={"step": "2", "body": "Say when it arrives."})
    mona.post(f"/review/attempts/{attempt_id}/grade",
              data=grade_form(4, bonus="5", comment="**Well done**<script>x</script>", shout_out="Calm and kind"))
    library = ayse.get("/library").get_data(as_text=True)
    assert 'data-testid="unseen-reviews">1<' in library
    listing = ayse.get("/reviews").get_data(as_text=True)
    review_id = int(listing.split("/reviews/")[1].split('"')[0])
    page = ayse.get(f"/reviews/{review_id}").get_data(as_text=True)
    assert "<strong>Well done</strong>" in page and "<script>x" not in page
    assert "Calm and kind" in page and "bonus: 5" in page and "20 of 25" in page
    turn_two = page.split('data-testid="turn-2"')[1]
    assert "Say when it arrives." in turn_two and GOOD_REPLY in turn_two
    assert "Comment on this turn" not in page
    assert 'data-testid="unseen-reviews"' not in page  # the header of the very page that opened it
    assert 'data-testid="unseen-reviews"' not in ayse.get("/library").get_data(as_text=True)
    asked = ayse.post(f"/reviews/{review_id}/question", data={"question": "When should I say it?"}, headers=HX)
    assert asked.status_code == 200 and asked.get_data(as_text=True).lstrip().startswith('<section id="review-question"')
    twice = ayse.post(f"/reviews/{review_id}/question", data={"question": "And again?"})
    assert twice.status_code == 409
    assert "When should I say it?" in mona.get(f"/review/attempts/{attempt_id}").get_data(as_text=True)
    assert "When should I say it?" in mona.get("/review/queue").get_data(as_text=True)
    assert "When should I say it?" not in sign_in(app, "omar").get("/review/queue").get_data(as_text=True)
    # An edit is news again.
    mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(5, revision=1))
    assert 'data-testid="unseen-reviews">1<' in ayse.get("/library").get_data(as_text=True)
    assert 'data-testid="questions"' not in mona.get("/review/queue").get_data(as_text=True)  # answered by the edit
    assert sign_in(app, "mehmet").get(f"/reviews/{review_id}").status_code == 404
    assert ayse.post(f"/reviews/{review_id}/question", data={"question": " "}).status_code in (400, 409)


def test_retry_request_is_shown_and_the_next_attempt_answers_it(app, team):
    ayse = sign_in(app, "ayse")
    attempt_id = play_with_reply(ayse, "I will fix it and I can call you back tomorrow.")
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(2))
    assert mona.post(f"/review/attempts/{attempt_id}/retry", data={"note": "Name the feeling first."},
                     headers=HX).status_code == 200
    assert mona.post(f"/review/attempts/{attempt_id}/retry", data={"note": "twice"}).status_code == 303
    for page in ("/library", "/attempts", "/reviews"):
        body = ayse.get(page).get_data(as_text=True)
        assert 'data-testid="retry-requests"' in body and "Name the feeling first." in body and "twice" not in body
    new_attempt = start(ayse)
    assert 'data-testid="retry-requests"' not in ayse.get("/library").get_data(as_text=True)
    sheet = mona.get(f"/review/attempts/{attempt_id}").get_data(as_text=True)
    assert f'href="/review/attempts/{new_attempt}" data-testid="retry-attempt"' in sheet
    with app.app_context():
        review_id = db.session.scalar(select(Review.id))
    assert f'href="/attempts/{new_attempt}"' in ayse.get(f"/reviews/{review_id}").get_data(as_text=True)
    assert audit_actions(app).count("retry") == 1
    active = start(sign_in(app, "ayse"))
    assert mona.post(f"/review/attempts/{active}/retry", data={"note": ""}).status_code == 409


def test_resuming_a_later_running_attempt_answers_a_retry_request(app, team):
    ayse = sign_in(app, "ayse")
    reviewed = play_with_reply(ayse)
    running = start(ayse)  # started again before the mentor got to it
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{reviewed}/retry", data={"note": "Slow down."})
    assert "Slow down." in ayse.get("/library").get_data(as_text=True)
    assert start(ayse) == running
    assert 'data-testid="retry-requests"' not in ayse.get("/library").get_data(as_text=True)
    assert f"/review/attempts/{running}" in mona.get(f"/review/attempts/{reviewed}").get_data(as_text=True)


def test_public_functions_for_badges_and_dashboards(app, team, tmp_path):
    from app.reviews import open_retry_requests, unseen_review_count, well_graded_count

    ayse = sign_in(app, "ayse")
    first, second = play_with_reply(ayse), play_with_reply(ayse)
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{first}/grade", data=grade_form(4))  # 20/25 = 80%
    mona.post(f"/review/attempts/{second}/grade", data=grade_form(3, bonus="50"))  # 60%: bonus does not count
    mona.post(f"/review/attempts/{second}/retry", data={"note": "Again"})
    with app.app_context():
        assert well_graded_count(team["ayse"]) == 1
        assert unseen_review_count(team["ayse"]) == 2
        assert [r.attempt_id for r in open_retry_requests(team["ayse"])] == [second]
        assert open_retry_requests(team["ayse"])[0].note == "Again"
        assert well_graded_count(team["mehmet"]) == unseen_review_count(team["mehmet"]) == 0
    mona.post(f"/review/attempts/{first}/grade", data=grade_form(3, revision=1))
    with app.app_context():
        assert well_graded_count(team["ayse"]) == 0


def test_overview_draws_rubric_averages_and_where_the_group_goes_wrong(app, team, fake_now):
    ayse = sign_in(app, "ayse")
    first = play_with_reply(ayse)
    failed = play_to_failure(ayse)
    fake_now[0] += timedelta(days=3)
    second = play_with_reply(ayse)
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{first}/grade", data=grade_form(2))
    mona.post(f"/review/attempts/{second}/grade", data=grade_form(4))
    overview = mona.get("/review/overview").get_data(as_text=True)
    assert "Ayse" in overview and "Mehmet" not in overview
    assert "67%" in overview  # 2 of 3 finished attempts passed
    spot = overview.split('data-testid="spot-late-delivery"')[1]
    assert "The courier caused it, not us." in spot and "led to a failure ending" in spot
    page = mona.get(f"/review/trainees/{team['ayse']}").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page and "<script" not in page.split("<svg")[1].split("</svg>")[0]
    assert "Empathy: 40.0% (2026-03-02)" in page and "Empathy: 80.0% (2026-03-05)" in page
    assert f"/review/attempts/{failed}" in page
    assert mona.get(f"/review/trainees/{team['mehmet']}").status_code == 404
    assert mona.get(f"/review/trainees/{team['omar']}").status_code == 404


def test_pairing_in_the_browser_by_trainers(app, team):
    tara = sign_in(app, "tara")
    page = tara.get("/mentors").get_data(as_text=True)
    assert "Mona" in page and "Ayse" in page
    assert tara.post("/mentors", data={"mentor": str(team["omar"]), "trainee": str(team["mehmet"])}).status_code == 303
    assert tara.post("/mentors", data={"mentor": str(team["omar"]), "trainee": str(team["mehmet"])}).status_code == 303
    attempt_id = play_with_reply(sign_in(app, "mehmet"))
    assert sign_in(app, "omar").get(f"/review/attempts/{attempt_id}").status_code == 200
    for not_a_mentor in ("ayse", "tara", "root"):
        refused = tara.post("/mentors", data={"mentor": str(team[not_a_mentor]), "trainee": str(team["mehmet"])})
        assert refused.status_code == 409
    assert tara.post("/mentors", data={"mentor": str(team["omar"]), "trainee": str(team["mona"])}).status_code == 409
    assert tara.post("/mentors", data={"mentor": "x", "trainee": "1"}).status_code == 400
    assert tara.post("/mentors", data={"mentor": "999", "trainee": "1"}).status_code == 400
    assert tara.post("/mentors/remove", data={"mentor": str(team["omar"]),
                                              "trainee": str(team["mehmet"])}).status_code == 303
    assert sign_in(app, "omar").get(f"/review/attempts/{attempt_id}").status_code == 404
    assert audit_actions(app).count("pair") == 2 and audit_actions(app).count("unpair") == 1


def test_admins_read_the_audit_trail(app, team):
    attempt_id = play_with_reply(sign_in(app, "ayse"))
    mona = sign_in(app, "mona")
    mona.post(f"/review/attempts/{attempt_id}/claim")
    mona.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(3, bonus="4"))
    root = sign_in(app, "root")
    page = root.get("/admin/audit").get_data(as_text=True)
    for action in ("claim", "grade", "bonus", "pair"):
        assert f"<td>{action}</td>" in page
    assert "<td>mona</td>" in page
    assert "<td>claim</td>" not in root.get("/admin/audit?action=grade").get_data(as_text=True)
    assert root.get("/admin/audit?action=drop").status_code == 400
    assert sign_in(app, "tara").get("/admin/audit").status_code == 404


def test_an_admin_cannot_grade_their_own_attempt(app, team):
    root = sign_in(app, "root")
    attempt_id = play_with_reply(root)
    assert root.get(f"/review/attempts/{attempt_id}").status_code == 200
    refused = root.post(f"/review/attempts/{attempt_id}/grade", data=grade_form(5))
    assert refused.status_code == 409 and "Nobody grades their own attempt." in refused.get_data(as_text=True)
    assert review_points(app, attempt_id) == []
