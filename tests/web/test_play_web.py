"""Trainees browse and play on both paths: htmx fragments and plain full pages."""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app import attempts
from app.content_sync import sync_library
from app.extensions import db
from app.models import ActivityDay, Attempt, AttemptStep, BestResult, PointsEntry, User


LIBRARY = Path(__file__).resolve().parent / "library"
HX = {"HX-Request": "true"}
GOOD_REPLY = "I will send a replacement today and I can refund the shipping."


def start(client, content_id: str = "late-delivery") -> int:
    response = client.post(f"/library/{content_id}/start")
    assert response.status_code == 303
    match = re.search(r"/attempts/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def act(client, attempt_id: int, step: int, headers=None, **fields):
    return client.post(f"/attempts/{attempt_id}/act", data={"step": str(step), **fields}, headers=headers or {})


def ledger(app, key: str | None = None) -> list[tuple[str, int]]:
    with app.app_context():
        query = select(PointsEntry.key, PointsEntry.amount).order_by(PointsEntry.id)
        if key:
            query = query.where(PointsEntry.key == key)
        return [tuple(row) for row in db.session.execute(query)]


def step_count(app, attempt_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AttemptStep)
                                 .where(AttemptStep.attempt_id == attempt_id))


def test_catalogue_lists_valid_scenarios_with_filters(trainee):
    page = trainee.get("/library").get_data(as_text=True)
    assert "A third late delivery" in page and "The coffee chain loyalty card" in page
    assert "Broken on purpose" not in page
    assert "about 5 min" in page and "Not played yet" in page
    assert "<script>alert(1)</script>" not in page  # markdown is sanitised
    only_cases = trainee.get("/library?kind=case_study").get_data(as_text=True)
    assert "loyalty card" in only_cases and "late delivery" not in only_cases
    by_skill = trainee.get("/library?skill=analysis").get_data(as_text=True)
    assert "loyalty card" in by_skill and "late delivery" not in by_skill
    persian = trainee.get("/library?language=fa").get_data(as_text=True)
    assert "گوش دادن فعال" in persian and 'dir="rtl"' in persian
    assert trainee.get("/library?difficulty=9").status_code == 400
    assert trainee.get("/library?kind=poem").status_code == 400


def test_catalogue_filter_by_htmx_returns_only_the_cards(trainee):
    response = trainee.get("/library?kind=roleplay", headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="catalogue-items"')
    assert "<html" not in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/library")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
    htmx = client.get("/library", headers=HX)
    assert htmx.status_code == 200 and "/login" in htmx.headers["HX-Redirect"]


def test_start_twice_resumes_the_same_attempt(trainee):
    assert start(trainee) == start(trainee)


def test_unknown_scenario_is_404(trainee):
    assert trainee.post("/library/no-such-thing/start").status_code == 404
    assert trainee.post("/library/broken/start").status_code == 404


def test_scene_shows_narration_persona_meter_and_choices(trainee):
    attempt_id = start(trainee)
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "The phone rings" in page
    assert "<strong>third time</strong>" in page
    assert "Ayşe Yılmaz" in page
    assert 'data-testid="meter-mood"' in page and 'value="2"' in page
    assert 'value="acknowledge"' in page and 'value="blame"' in page


def test_full_page_path_plays_to_a_pass(app, trainee):
    attempt_id = start(trainee)
    response = act(trainee, attempt_id, 1, choice="acknowledge")
    assert response.status_code == 303
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "Naming the feeling first lowers the temperature." in page
    assert "+10 points" in page
    assert "this attempt: 10" in page  # the header shows the running attempt
    assert "Explain the delay" in page
    assert act(trainee, attempt_id, 2, reply=GOOD_REPLY).status_code == 303
    result = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "Passed" in result and "20 points" in result
    assert "You named the feeling, then made a concrete promise." in result
    assert GOOD_REPLY in result  # the transcript
    assert ledger(app) == [(f"attempt:{attempt_id}", 20)]


def test_htmx_path_swaps_the_scene_and_the_points_counter(app, trainee):
    attempt_id = start(trainee)
    response = act(trainee, attempt_id, 1, headers=HX, choice="acknowledge")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="play-region"')
    assert 'id="points-counter"' in body and 'hx-swap-oob="true"' in body
    assert "this attempt: 10" in body
    assert "<html" not in body
    finished = act(trainee, attempt_id, 2, headers=HX, reply=GOOD_REPLY).get_data(as_text=True)
    assert 'data-testid="result"' in finished
    assert re.search(r'data-testid="points-total">\s*20 points', finished)


def test_choice_not_offered_is_refused_and_nothing_recorded(app, trainee):
    attempt_id = start(trainee)
    response = act(trainee, attempt_id, 1, choice="resolved")
    assert response.status_code == 422
    assert "is not offered" in response.get_data(as_text=True)
    assert step_count(app, attempt_id) == 0
    htmx = act(trainee, attempt_id, 1, headers=HX, choice="resolved")
    assert htmx.status_code == 422 and 'data-testid="error"' in htmx.get_data(as_text=True)


def test_reply_too_short_is_refused_and_can_be_rewritten(app, trainee):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    response = act(trainee, attempt_id, 2, reply="too short")
    assert response.status_code == 422
    assert "write at least 5" in response.get_data(as_text=True)
    assert step_count(app, attempt_id) == 1
    assert act(trainee, attempt_id, 2, reply=GOOD_REPLY).status_code == 303


def test_condition_is_checked_on_the_server(app, trainee, make_user, login):
    # After acknowledging, mood rises; a forged `blame` at a node that doesn't offer it is refused.
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    assert act(trainee, attempt_id, 2, choice="blame").status_code == 422
    assert step_count(app, attempt_id) == 1


def test_replayed_post_records_once(app, trainee):
    attempt_id = start(trainee)
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 303
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 303
    assert step_count(app, attempt_id) == 1


def test_second_tab_with_a_stale_step_is_told(app, trainee):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    response = act(trainee, attempt_id, 1, choice="blame")
    assert response.status_code == 409
    assert "another tab" in response.get_data(as_text=True)
    assert step_count(app, attempt_id) == 1


def change_after_first_read(monkeypatch, first_read):
    """In the next request, the attempt's first read returns `first_read(row)`; returns every row read."""
    read_now = attempts._owned_row
    reads = []

    def reading(user_id, wanted_id):
        row = read_now(user_id, wanted_id)
        reads.append(row)
        if len(reads) > 1:
            return row
        with monkeypatch.context() as unpatched:
            unpatched.setattr(attempts, "_owned_row", read_now)
            return first_read(row)

    monkeypatch.setattr(attempts, "_owned_row", reading)
    return reads


@pytest.mark.parametrize("choice, status", [("acknowledge", 303), ("blame", 409)])
def test_an_attempt_that_moved_on_after_it_was_read_is_read_again(app, trainee, monkeypatch, choice, status):
    # Step 1 is checked against the attempt as read; another request had recorded it before this one writes.
    attempt_id = start(trainee)
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 303
    reads = change_after_first_read(monkeypatch, lambda row: dataclasses.replace(row, step_count=0, actions=()))
    assert act(trainee, attempt_id, 1, choice=choice).status_code == status
    assert [row.step_count for row in reads[:2]] == [1, 1]
    assert step_count(app, attempt_id) == 1
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).actions == ["acknowledge"]


def test_an_attempt_abandoned_after_it_was_read_records_nothing(app, trainee, monkeypatch):
    attempt_id = start(trainee)

    def restarted_elsewhere(row):
        attempts.restart_attempt(row.user_id, row.id)
        return row

    reads = change_after_first_read(monkeypatch, restarted_elsewhere)
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 422
    assert [row.status for row in reads[:2]] == ["active", "abandoned"]
    assert step_count(app, attempt_id) == 0


def test_an_ending_whose_attempt_was_abandoned_after_it_was_read_records_and_pays_nothing(app, trainee, monkeypatch):
    # The step that ends an attempt moves it on and finishes it in one guarded update: a restart in between wins.
    attempt_id = start(trainee)

    def restarted_elsewhere(row):
        attempts.restart_attempt(row.user_id, row.id)
        return row

    change_after_first_read(monkeypatch, restarted_elsewhere)
    assert act(trainee, attempt_id, 1, choice="blame").status_code == 422
    assert step_count(app, attempt_id) == 0
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.status, attempt.outcome, attempt.points) == ("abandoned", "unfinished", 0)
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_an_ending_step_records_the_step_and_finishes_the_attempt_together(app, trainee):
    attempt_id = start(trainee)
    assert act(trainee, attempt_id, 1, choice="blame").status_code == 303
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.status, attempt.outcome, attempt.ending, attempt.points, attempt.step_count) == (
            "finished", "failed", "failure", 0, 1)  # an attempt never totals below 0
        assert attempt.finished_at is not None and not attempt.needs_review
        step = db.session.scalars(select(AttemptStep).where(AttemptStep.attempt_id == attempt_id)).one()
        assert (step.number, step.action, step.points) == (1, "blame", -5)
    assert act(trainee, attempt_id, 1, choice="blame").status_code == 303  # a replay changes nothing
    assert act(trainee, attempt_id, 2, choice="acknowledge").status_code == 422
    assert step_count(app, attempt_id) == 1


def test_missing_or_forged_fields_are_a_400(trainee):
    attempt_id = start(trainee)
    assert trainee.post(f"/attempts/{attempt_id}/act", data={"choice": "acknowledge"}).status_code == 400
    assert act(trainee, attempt_id, 0, choice="acknowledge").status_code == 400
    assert act(trainee, attempt_id, 1).status_code == 400
    assert act(trainee, attempt_id, 1, choice="acknowledge", reply="x").status_code == 400
    assert act(trainee, attempt_id, 1, option="one").status_code == 400


def test_finished_attempt_accepts_nothing(app, trainee):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="blame")
    response = act(trainee, attempt_id, 2, choice="acknowledge")
    assert response.status_code == 422
    assert "has ended" in response.get_data(as_text=True)
    assert step_count(app, attempt_id) == 1


def test_replaying_never_farms_points(app, trainee):
    first = start(trainee)
    act(trainee, first, 1, choice="acknowledge")
    act(trainee, first, 2, reply="Sorry about that, we are looking into it now.")  # 10 + 5 = 15
    assert ledger(app) == [(f"attempt:{first}", 15)]
    second = start(trainee)
    act(trainee, second, 1, choice="blame")  # failed, 0 points: no row
    third = start(trainee)
    act(trainee, third, 1, choice="acknowledge")
    act(trainee, third, 2, reply=GOOD_REPLY)  # 20: improvement of 5
    fourth = start(trainee)
    act(trainee, fourth, 1, choice="acknowledge")
    act(trainee, fourth, 2, reply=GOOD_REPLY)  # 20 again: nothing
    assert ledger(app) == [(f"attempt:{first}", 15), (f"attempt:{third}", 5)]
    page = trainee.get("/library").get_data(as_text=True)
    assert "Your best: 20 points" in page and "20 points" in page


def test_restart_abandons_the_running_attempt(app, trainee):
    first = start(trainee)
    act(trainee, first, 1, choice="acknowledge")
    response = trainee.post(f"/attempts/{first}/restart")
    assert response.status_code == 303
    second = int(response.headers["Location"].rsplit("/", 1)[1])
    assert second != first
    with app.app_context():
        assert db.session.get(Attempt, first).status == "abandoned"
    assert act(trainee, first, 2, reply=GOOD_REPLY).status_code == 422


def test_someone_elses_attempt_is_404_everywhere(app, trainee, make_user):
    attempt_id = start(trainee)
    other = app.test_client()
    make_user("mehmet")
    other.post("/login", data={"username": "mehmet", "password": "correct horse battery staple"})
    assert other.get(f"/attempts/{attempt_id}").status_code == 404
    assert other.get(f"/attempts/{attempt_id}", headers=HX).status_code == 404
    assert act(other, attempt_id, 1, choice="acknowledge").status_code == 404
    assert other.post(f"/attempts/{attempt_id}/restart").status_code == 404
    assert step_count(app, attempt_id) == 0


def test_the_attempt_named_in_the_url_is_read_with_the_signed_in_user(app, trainee, monkeypatch):
    attempt_id = start(trainee)
    separate_reads = []
    read = attempts._OWNED_ROW_DIRECT.first
    monkeypatch.setattr(attempts._OWNED_ROW_DIRECT, "first", lambda *args: separate_reads.append(args) or read(*args))
    assert trainee.get(f"/attempts/{attempt_id}").status_code == 200
    assert act(trainee, attempt_id, 1, HX, choice="acknowledge").status_code == 200
    assert 'name="step" value="2"' in trainee.get(f"/attempts/{attempt_id}", headers=HX).get_data(as_text=True)
    assert separate_reads == []
    assert step_count(app, attempt_id) == 1


def test_an_attempt_read_with_the_user_serves_only_that_user_and_attempt_once(app, trainee, make_user):
    first, second = start(trainee), start(trainee, "loyalty-case")
    with app.test_request_context(f"/attempts/{first}"):
        owner, token = db.session.execute(select(User.id, User.session_token).where(User.username == "ayse")).one()

        def read_with_user(attempt_id):
            user = attempts.signed_in_with_attempt(owner, token, {"attempt_id": attempt_id})
            assert user is not None and user.id == owner

        read_with_user(first)
        db.session.execute(update(Attempt).where(Attempt.id == first).values(step_count=7))
        assert attempts._owned_row(owner, first).step_count == 0  # as read with the user
        assert attempts._owned_row(owner, first).step_count == 7  # read again
        read_with_user(first)
        assert attempts._owned_row(owner, second).id == second  # another attempt: read on its own
        read_with_user(first)
        stranger = make_user("mehmet")
        with pytest.raises(attempts.NotFound):  # the owner's read never serves someone else
            attempts._owned_row(stranger, first)
        db.session.rollback()
        stranger_token = db.session.get(User, stranger).session_token
        assert attempts.signed_in_with_attempt(stranger, stranger_token, {"attempt_id": first}).id == stranger
        with pytest.raises(attempts.NotFound):
            attempts._owned_row(stranger, first)
        assert attempts.signed_in_with_attempt(owner, "stale-token", {"attempt_id": first}) is None


def test_trainee_text_is_escaped(trainee):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    act(trainee, attempt_id, 2, reply='I will fix it <script>alert("x")</script> right now')
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_case_study_keeps_the_case_visible(app, trainee):
    attempt_id = start(trainee, "loyalty-case")
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "free drink after nine stamps" in page and "Question 1 of 2" in page
    act(trainee, attempt_id, 1, option="1")
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "free drink after nine stamps" in page and "Question 2 of 2" in page and "Yes." in page
    act(trainee, attempt_id, 2, reply="measure repeat visits every month")
    result = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "Passed" in result and "8 points" in result


def test_persian_scenario_renders_right_to_left(trainee):
    attempt_id = start(trainee, "persian-listening")
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert re.search(r'<h1 lang="fa" dir="rtl">گوش دادن فعال</h1>', page)
    assert re.search(r'class="say" lang="fa" dir="rtl"', page)
    assert re.search(r'class="choices" lang="fa" dir="rtl"', page)
    assert 'id="play-region" class="play" data-content-lang="fa"' in page  # the interface keeps its direction


def test_editing_or_deleting_the_file_keeps_the_attempt_on_its_version(app, trainee, tmp_path):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    changed = tmp_path / "library"
    shutil.copytree(LIBRARY, changed)
    text = (changed / "scenarios" / "late-delivery.yaml").read_text(encoding="utf-8")
    (changed / "scenarios" / "late-delivery.yaml").write_text(
        text.replace("Fine. Where is it?", "Changed line.").replace("id: acknowledge", "id: ack"), encoding="utf-8")
    (changed / "scenarios" / "loyalty-case.yaml").unlink()
    with app.app_context():
        sync_library(changed, None)
    page = trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "Fine. Where is it?" in page and "Changed line." not in page
    assert act(trainee, attempt_id, 2, reply=GOOD_REPLY).status_code == 303
    assert "Passed" in trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    catalogue = trainee.get("/library").get_data(as_text=True)
    assert "loyalty card" not in catalogue
    new_attempt = start(trainee)
    assert 'value="ack"' in trainee.get(f"/attempts/{new_attempt}").get_data(as_text=True)


OVER_AT_ONCE = """\
id: over-at-once
title: Over before it starts
language: en
skills: [empathy]
difficulty: 1
minutes: 1
start: done
nodes:
  done:
    ending: success
    say: The customer has already hung up, happy.
    debrief: Nothing was asked of you this time.
"""


def sync_with_scenario(app, tmp_path, content_id: str, text: str) -> None:
    """Sync the test library with one more scenario file."""
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    (library / "scenarios" / f"{content_id}.yaml").write_text(text, encoding="utf-8")
    with app.app_context():
        sync_library(library, None)


def test_an_attempt_whose_start_is_an_ending_finishes_at_once_and_counts(app, trainee, tmp_path):
    sync_with_scenario(app, tmp_path, "over-at-once", OVER_AT_ONCE)
    attempt_id = start(trainee, "over-at-once")
    assert "Nothing was asked of you this time." in trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.status, attempt.outcome, attempt.ending, attempt.points) == ("finished", "passed", "success", 0)
        assert attempt.finished_at is not None and not attempt.needs_review
        best = db.session.scalars(select(BestResult).where(BestResult.content_id == "over-at-once")).one()
        assert (best.attempt_id, best.outcome, best.points) == (attempt_id, "passed", 0)
        assert db.session.scalar(select(func.count()).select_from(ActivityDay)) == 1
    assert step_count(app, attempt_id) == 0
    assert start(trainee, "over-at-once") != attempt_id  # nothing left running: a new attempt


def test_my_attempts_lists_only_mine(app, trainee, make_user):
    attempt_id = start(trainee)
    page = trainee.get("/attempts").get_data(as_text=True)
    assert f"/attempts/{attempt_id}" in page
    other = app.test_client()
    make_user("mehmet")
    other.post("/login", data={"username": "mehmet", "password": "correct horse battery staple"})
    assert f"/attempts/{attempt_id}" not in other.get("/attempts").get_data(as_text=True)


def test_library_problems_page_for_trainers_only(app, trainee, make_user):
    assert trainee.get("/library/problems").status_code == 404
    make_user("tara", "trainer")
    trainer = app.test_client()
    trainer.post("/login", data={"username": "tara", "password": "correct horse battery staple"})
    page = trainer.get("/library/problems").get_data(as_text=True)
    assert "scenarios/broken.yaml:6:26" in page and "nowhere" in page
    assert trainer.post("/library/sync").status_code == 303


@pytest.mark.parametrize("same_action", [True, False])
def test_concurrent_double_submit_records_exactly_one_step(app, make_user, same_action):
    make_user("ayse")
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        client.post("/login", data={"username": "ayse", "password": "correct horse battery staple"})
    attempt_id = start(clients[0])
    choices = ["acknowledge"] * 4 if same_action else ["acknowledge", "blame", "acknowledge", "blame"]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def submit(client, choice):
        barrier.wait()
        statuses.append(act(client, attempt_id, 1, choice=choice).status_code)

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(clients, choices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert step_count(app, attempt_id) == 1
    assert all(status in (303, 409) for status in statuses), statuses
    assert 500 not in statuses
    if same_action:
        assert statuses.count(303) >= 1
    else:
        assert statuses.count(303) >= 1 and statuses.count(409) >= 1


def test_static_htmx_is_vendored_and_pinned(client):
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert response.data.startswith(b"var htmx=")


def test_a_write_waits_for_a_busy_sqlite_database_instead_of_failing(app, trainee):
    import sqlite3

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite locking only")
    attempt_id = start(trainee)
    blocker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(
        act(trainee, attempt_id, 1, choice="acknowledge").status_code))
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # waiting for the lock, not failing
    blocker.execute("COMMIT")
    blocker.close()
    thread.join(timeout=10)
    assert statuses == [303]
    assert step_count(app, attempt_id) == 1


def test_a_file_that_breaks_keeps_its_last_good_version_in_the_catalogue(app, trainee, tmp_path):
    changed = tmp_path / "library"
    shutil.copytree(LIBRARY, changed)
    path = changed / "scenarios" / "late-delivery.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "typo_key: 1\n", encoding="utf-8")
    (changed / "courses" / "skills.yaml").write_text("skills: [oops\n", encoding="utf-8")
    with app.app_context():
        result = sync_library(changed, None)
    assert "scenarios/late-delivery.yaml" in result.skipped and "courses/skills.yaml" in result.skipped
    page = trainee.get("/library").get_data(as_text=True)
    assert "A third late delivery" in page and "Empathy" in page
    attempt_id = start(trainee)
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 303
    assert "Empathy +2" in trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True)


def test_an_attempt_stops_growing_at_its_step_limit(app, trainee, monkeypatch):
    import app.attempts as attempts_module

    monkeypatch.setattr(attempts_module, "MAX_STEPS", 1)
    attempt_id = start(trainee)
    assert act(trainee, attempt_id, 1, choice="acknowledge").status_code == 303
    response = act(trainee, attempt_id, 2, reply=GOOD_REPLY)
    assert response.status_code == 422
    assert "reached 1 steps" in response.get_data(as_text=True)


def test_restarting_again_and_again_keeps_working(app, trainee):
    # PostgreSQL switches a statement run often on one connection to a generic plan: the ON CONFLICT target of
    # a new attempt must still match the partial index of running attempts then.
    attempt_id = start(trainee)
    for _ in range(15):
        response = trainee.post(f"/attempts/{attempt_id}/restart")
        assert response.status_code == 303
        attempt_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    with app.app_context():
        running = db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.status == "active"))
    assert running == 1


def test_the_attempt_named_in_the_url_is_found_by_its_key(app, trainee):
    """Not among all of its trainee's attempts, which PostgreSQL would scan were ownership part of the join."""
    attempt_id = start(trainee)
    for _ in range(3):
        start(trainee, "loyalty-case")
    with app.app_context():
        owner, token = db.session.execute(select(User.id, User.session_token).where(User.username == "ayse")).one()
        connection = db.session.connection()
        plan = attempts._SIGNED_IN_AND_OWNED_ROW.plan(connection.dialect)
        values = plan.parameters({"user_id": owner, "token": token, "attempt_id": attempt_id})
        values = values if isinstance(values, dict) else tuple(values)
        if connection.dialect.name == "postgresql":
            shown = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {plan.sql}", values))
            assert "attempts_pkey" in shown and "ix_attempts_user_id" not in shown, shown
        else:
            shown = "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {plan.sql}", values))
            assert "attempts USING INTEGER PRIMARY KEY" in shown, shown


HOLES_IN_TEXT = """\
id: holes-in-text
title: Text that looks like the page's holes
language: en
skills: [empathy]
difficulty: 1
minutes: 1
start: ask
nodes:
  ask:
    narrate: "Raw: <hole-act-url> and <hole-csrf>. Code: `<hole-step>`"
    say: Which one?
    choices:
      - {id: first, text: "<hole-act-url> is my answer", goto: done}
  done:
    ending: success
    say: Done.
"""


def form_targets(html: str) -> tuple[set[str], set[str], set[str]]:
    """The act URLs, step numbers and CSRF tokens a page's play forms carry."""
    return (set(re.findall(r'hx-post="([^"]+)"', html)), set(re.findall(r'name="step" value="([^"]+)"', html)),
            set(re.findall(r'name="csrf_token" value="([^"]+)"', html)))


def test_trainees_at_the_same_scene_share_its_body_but_each_form_is_their_own(app, trainee, make_user):
    first = start(trainee)
    act(trainee, first, 1, choice="acknowledge")
    other = app.test_client()
    make_user("mehmet")
    other.post("/login", data={"username": "mehmet", "password": "correct horse battery staple"})
    second = start(other)
    act(other, second, 1, choice="acknowledge")
    mine, theirs = (client.get(f"/attempts/{attempt_id}", headers=HX).get_data(as_text=True)
                    for client, attempt_id in ((trainee, first), (other, second)))
    assert "Explain the delay" in mine and "Explain the delay" in theirs
    assert "<hole" not in mine and "<hole" not in theirs
    (my_urls, my_steps, my_tokens), (their_urls, their_steps, their_tokens) = form_targets(mine), form_targets(theirs)
    assert my_urls == {f"/attempts/{first}/act"} and their_urls == {f"/attempts/{second}/act"}
    assert my_steps == their_steps == {"2"}
    assert len(my_tokens) == len(their_tokens) == 1 and my_tokens != their_tokens
    again = start(trainee, "loyalty-case")
    assert form_targets(trainee.get(f"/attempts/{again}").get_data(as_text=True))[0] == {f"/attempts/{again}/act"}


def test_scenario_text_cannot_open_a_hole_in_the_page(app, trainee, tmp_path):
    sync_with_scenario(app, tmp_path, "holes-in-text", HOLES_IN_TEXT)
    attempt_id = start(trainee, "holes-in-text")
    for _ in range(2):  # rendered, then served from the store
        page = trainee.get(f"/attempts/{attempt_id}", headers=HX).get_data(as_text=True)
        assert "&lt;hole-act-url&gt; is my answer" in page and "<code>&lt;hole-step&gt;</code>" in page
        assert f"/attempts/{attempt_id}/act" not in page.split('<section class="scene"')[0]
        assert form_targets(page)[:2] == ({f"/attempts/{attempt_id}/act"}, {"1"})
    assert act(trainee, attempt_id, 1, HX, choice="first").status_code == 200


TWO_PATHS = """\
id: two-paths
title: Two paths to one question
language: en
skills: [empathy]
difficulty: 1
minutes: 1
variables:
  mood: {initial: 2, min: 0, max: 5, label: Mood, show: true}
start: greet
nodes:
  greet:
    say: Hello?
    choices:
      - {id: calm, text: Stay calm, change: {mood: 1}, goto: explain}
      - {id: rush, text: Rush it, change: {mood: -1}, goto: explain}
  explain:
    say: So what now?
    reply:
      prompt: Say what you will do.
      min_words: 2
      look_for:
        - {phrases: ["I will"], points: 5, feedback: "A promise."}
      goto: more
  more:
    say: Anything else?
    choices:
      - {id: done, text: That is all, goto: bye}
  bye:
    ending: success
    say: Bye.
"""


def meter_value(html: str) -> str:
    found = re.search(r'<meter min="0" max="5" value="(\d+)">', html)
    assert found, html
    return found.group(1)


def test_each_attempt_sees_its_own_answer_and_meters_in_a_shared_scene(app, trainee, make_user, tmp_path):
    sync_with_scenario(app, tmp_path, "two-paths", TWO_PATHS)
    clients = [trainee]
    for name in ("mehmet", "zeynep"):
        make_user(name)
        clients.append(app.test_client())
        clients[-1].post("/login", data={"username": name, "password": "correct horse battery staple"})
    attempt_ids = [start(client, "two-paths") for client in clients]
    pages = [act(client, attempt_id, 1, HX, choice=choice).get_data(as_text=True)
             for client, attempt_id, choice in zip(clients, attempt_ids, ("calm", "calm", "rush"))]
    assert [meter_value(page) for page in pages] == ["3", "3", "1"]
    assert "Stay calm" in pages[0] and "Rush it" not in pages[0] and "Rush it" in pages[2]
    replies = ("I will <b>fix</b> it today", "I will call you back")
    pages = [act(client, attempt_id, 2, HX, reply=reply).get_data(as_text=True)
             for client, attempt_id, reply in zip(clients, attempt_ids, replies)]
    assert "I will &lt;b&gt;fix&lt;/b&gt; it today" in pages[0] and "call you back" not in pages[0]
    assert "I will call you back" in pages[1] and "fix" not in pages[1]
    for page, attempt_id in zip(pages, attempt_ids):
        assert "A promise." in page and "+5 points" in page and meter_value(page) == "3" and "<hole" not in page
        assert form_targets(page)[:2] == ({f"/attempts/{attempt_id}/act"}, {"3"})
        assert f'action="/attempts/{attempt_id}/restart"' in page
    # The two scenes after the promise read alike but for the answer and the forms: they share one frame.
    frames = [key for key in app.extensions["rendered_scenes"].pieces
              if key[0] == "frame" and key[3] is not None and key[3].texts == ("A promise.",)]
    assert len(frames) == 1
    # The full page without JavaScript shows the same scene.
    full = clients[1].get(f"/attempts/{attempt_ids[1]}").get_data(as_text=True)
    assert "I will call you back" in full and "A promise." in full and meter_value(full) == "3"


def test_each_result_shows_its_own_answers_and_forms_from_shared_pieces(app, trainee, make_user, tmp_path):
    sync_with_scenario(app, tmp_path, "two-paths", TWO_PATHS)
    make_user("mehmet")
    other = app.test_client()
    other.post("/login", data={"username": "mehmet", "password": "correct horse battery staple"})
    clients = (trainee, other)
    attempt_ids = [start(client, "two-paths") for client in clients]
    replies = ("I will <b>fix</b> it today", "I will call you back")
    pages = []
    for client, attempt_id, reply in zip(clients, attempt_ids, replies):
        act(client, attempt_id, 1, HX, choice="calm")
        act(client, attempt_id, 2, HX, reply=reply)
        pages.append(act(client, attempt_id, 3, HX, choice="done").get_data(as_text=True))
    for page, attempt_id, reply, others in zip(pages, attempt_ids, ("I will &lt;b&gt;fix&lt;/b&gt; it today",
                                                                   "I will call you back"), ("call you back", "fix")):
        assert 'data-testid="result"' in page and 'data-testid="transcript"' in page and "<hole" not in page
        assert reply in page and others not in page and "Stay calm" in page and "That is all" in page
        assert "A promise." in page and page.count('class="turn"') == 3
        assert f'action="/attempts/{attempt_id}/restart"' in page and 'href="/library"' in page
    tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for page in pages]
    assert len(tokens[0]) == len(tokens[1]) == 1 and tokens[0] != tokens[1]
    # Both results read alike but for the answers and forms: one result piece, one piece per turn.
    kept = app.extensions["rendered_scenes"].pieces
    assert len([key for key in kept if key[0] == "result"]) == 1
    turns = [key for key in kept if key[0] == "turn"]
    assert len(turns) == 3 and {key[3].number for key in turns} == {1, 2, 3}
    # The full page without JavaScript shows the same result; a restarted attempt's old one reads as abandoned.
    full = other.get(f"/attempts/{attempt_ids[1]}").get_data(as_text=True)
    assert "I will call you back" in full and 'data-testid="result-points"' in full
    running = start(trainee, "two-paths")
    act(trainee, running, 1, HX, choice="rush")
    trainee.post(f"/attempts/{running}/restart")
    abandoned = trainee.get(f"/attempts/{running}", headers=HX).get_data(as_text=True)
    assert "Abandoned" in abandoned and "Rush it" in abandoned and abandoned.count('class="turn"') == 1


def test_the_region_shell_is_shared_but_each_counter_and_error_is_the_answers_own(app, trainee, make_user):
    from app.database import write
    from app.points import award

    mehmet = make_user("mehmet")
    with app.app_context():
        write(lambda: award(mehmet, "bonus:test", 7, "A mentor's bonus"))
    other = app.test_client()
    other.post("/login", data={"username": "mehmet", "password": "correct horse battery staple"})
    mine, theirs = start(trainee), start(other)
    my_page = act(trainee, mine, 1, HX, choice="acknowledge").get_data(as_text=True)
    their_page = act(other, theirs, 1, HX, choice="acknowledge").get_data(as_text=True)
    for page, total in ((my_page, 0), (their_page, 7)):
        assert re.search(rf'data-testid="points-total">\s*{total} points', page), page
        assert re.search(r'data-testid="points-attempt">\s*this attempt: 10', page)
        assert "+10 points" in page and 'hx-swap-oob="true"' in page and "<hole" not in page
    shells = [key for key in app.extensions["rendered_scenes"].pieces if key[0] == "region"]
    assert len(shells) == 1
    # An error line is filled in per answer too; another answer to a step already taken records nothing.
    refused = act(trainee, mine, 1, HX, choice="blame")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert 'data-testid="error"' in text and "already answered in another tab" in text and "<hole" not in text
    assert step_count(app, mine) == 1
    plain = trainee.get(f"/attempts/{mine}").get_data(as_text=True)
    assert 'id="play-region"' in plain and "<hole" not in plain and 'data-testid="error"' not in plain


def test_kept_pieces_cannot_reach_what_differs_per_request(app, trainee):
    from jinja2 import UndefinedError

    from app.web import rendered_scenes

    start(trainee)
    with app.test_request_context("/"):
        store = app.extensions["rendered_scenes"]
        environment = store.environment()
        assert not rendered_scenes.PER_REQUEST_GLOBALS & set(environment.globals)
        assert {"_", "get_locale"} <= set(environment.globals) and "csrf_token" in app.jinja_env.globals
        with pytest.raises(UndefinedError):
            environment.from_string("{{ csrf_token() }}").render()
        with pytest.raises(UndefinedError):
            environment.from_string("{{ url_for('play.catalogue') }}").render()


def test_each_answer_gets_its_own_toasts_in_a_shared_shell(app, trainee, make_user, tmp_path):
    sync_with_scenario(app, tmp_path, "two-paths", TWO_PATHS)
    first, second = start(trainee, "two-paths"), start(trainee)
    act(trainee, first, 1, HX, choice="calm")
    with_points = act(trainee, second, 1, HX, choice="acknowledge").get_data(as_text=True)
    assert re.findall(r'data-testid="toast">([^<]*)<', with_points) == ["+10 points"]
    promise = act(trainee, first, 2, HX, reply="I will call you back").get_data(as_text=True)
    assert re.findall(r'data-testid="toast">([^<]*)<', promise) == ["+5 points"]
    shells = [key for key in app.extensions["rendered_scenes"].pieces if key[0] == "region"]
    assert len(shells) == 2  # without a toast (the calm choice earns none) and with one
    # The last answer: the result comes with the total, no running attempt, and its toasts.
    done = act(trainee, first, 3, HX, choice="done").get_data(as_text=True)
    assert 'data-testid="result"' in done and 'data-testid="points-attempt"' not in done
    assert re.search(r'data-testid="points-total">\s*5 points', done) and "<hole" not in done
    assert re.findall(r'data-testid="toast">([^<]*)<', done) == ["Your total rose by 5 points."]


def test_the_rendered_region_is_kept_per_interface_language(app, trainee):
    attempt_id = start(trainee)
    act(trainee, attempt_id, 1, choice="acknowledge")
    english = trainee.get(f"/attempts/{attempt_id}", headers=HX).get_data(as_text=True)
    turkish = trainee.get(f"/attempts/{attempt_id}", headers={**HX, "Accept-Language": "tr"}).get_data(as_text=True)
    assert form_targets(english) == form_targets(turkish)
    # No catalogue is translated yet, so the two regions read alike; each language has its own pieces.
    assert {key[:3:2] for key in app.extensions["rendered_scenes"].pieces} == {
        (piece, language) for piece in ("region", "frame", "body") for language in ("en", "tr")}


def test_the_scene_store_is_bounded_by_the_text_it_holds(app, trainee, monkeypatch):
    store = app.extensions["rendered_scenes"]
    first = start(trainee)
    trainee.get(f"/attempts/{first}")
    first_keys = {key for key in store.pieces if key[0] in ("frame", "body")}  # the region's shell is shared
    monkeypatch.setattr(store, "max_chars", store.chars + 1)
    second = start(trainee, "loyalty-case")
    page = trainee.get(f"/attempts/{second}").get_data(as_text=True)
    assert form_targets(page)[0] == {f"/attempts/{second}/act"}
    # The first scene's frame and body were let go to make room; the count of characters held starts again.
    assert store.pieces and not first_keys & set(store.pieces)
    assert store.chars == sum(len(piece) for piece in store.pieces.values()) <= store.max_chars


def test_with_templates_reloading_no_scene_is_kept(app, trainee):
    app.jinja_env.auto_reload = True
    attempt_id = start(trainee)
    assert form_targets(trainee.get(f"/attempts/{attempt_id}").get_data(as_text=True))[0] == {
        f"/attempts/{attempt_id}/act"}
    assert app.extensions["rendered_scenes"].pieces == {}
