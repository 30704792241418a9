"""Preview: trainers play stored scenarios and drafts, jump anywhere, and leave no trace in the database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Publication
from app.publishing import Draft, publish

WARNED = """id: warned
title: Has a warning
nodes:
  start:
    say: Hi
    choices:
      - {id: go, text: Go on, points: 3, goto: end}
  orphan:
    say: Nobody comes here
    choices:
      - {id: back, text: Back, goto: end}
  end:
    ending: success
    debrief: Well done.
"""


@pytest.fixture
def trainer(make_user, login):
    """A signed-in trainer's client."""
    make_user("tina", "trainer")
    return login("tina")


def _state(html: str) -> str:
    match = re.search(r'name="state" value="([^"]+)"', html)
    assert match, "no preview state in the page"
    return match.group(1)


def _snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table."""
    with app.app_context():
        return {table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
                for table in db.metadata.sorted_tables}


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_a_whole_preview_leaves_every_table_unchanged(app, trainer, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    trainer.get("/studio")  # the session is settled before the snapshot
    before = _snapshot(app)
    page = trainer.get("/studio/late-delivery/preview").get_data(as_text=True)
    steps = [{"choice": "acknowledge"}, {"reply": "I will send a new one today and I can refund you."},
             {"jump": "opening"}, {"choice": "blame"}, {"restart": "1"}]
    for step in steps:
        response = trainer.post("/studio/late-delivery/preview", data={"state": _state(page), **step}, headers=headers)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
    case = trainer.get("/studio/loyalty-case/preview").get_data(as_text=True)
    case = trainer.post("/studio/loyalty-case/preview", data={"state": _state(case), "option": "1"},
                        headers=headers).get_data(as_text=True)
    assert "Yes." in case
    draft = trainer.post("/studio/preview", data={"text": WARNED, "base": "0"}, headers=headers).get_data(as_text=True)
    draft = trainer.post("/studio/preview", data={"text": WARNED, "base": "0", "state": _state(draft), "choice": "go"},
                         headers=headers).get_data(as_text=True)
    assert "Well done." in draft
    assert _snapshot(app) == before


def test_steps_replay_through_the_engine_with_feedback_points_and_the_ending(trainer, rendered):
    page = trainer.get("/studio/late-delivery/preview").get_data(as_text=True)
    assert "nothing is recorded and no points are awarded" in page and 'data-testid="node-opening"' in page
    response = trainer.post("/studio/late-delivery/preview", data={"state": _state(page), "choice": "acknowledge"},
                            headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert rendered[-1] == "studio/_preview_region.html"
    assert "Naming the feeling first lowers the temperature." in html and "+10 points" in html
    assert "<code>mood</code> = 3" in html and 'data-testid="node-check"' in html
    html = trainer.post("/studio/late-delivery/preview", data={
        "state": _state(html), "reply": "I will send a replacement today, I can promise."}).get_data(as_text=True)
    assert rendered[-1] == "studio/preview.html"
    assert 'data-testid="outcome"' in html and "Passed" in html and "You named the feeling" in html


def test_a_trainer_can_jump_to_any_node_even_one_nobody_reaches(trainer):
    page = trainer.post("/studio/preview", data={"text": WARNED, "base": "0"}).get_data(as_text=True)
    assert "1 warning in this scenario" in page and "cannot be reached from the start" in page
    page = trainer.post("/studio/preview", data={"text": WARNED, "base": "0", "state": _state(page),
                                                 "jump": "orphan"}).get_data(as_text=True)
    assert 'data-testid="node-orphan"' in page and "Nobody comes here" in page
    page = trainer.post("/studio/preview", data={"text": WARNED, "base": "0", "state": _state(page),
                                                 "jump": "end"}).get_data(as_text=True)
    assert 'data-testid="result"' in page
    missing = trainer.post("/studio/preview", data={"text": WARNED, "base": "0", "state": _state(page),
                                                    "jump": "nowhere"})
    assert missing.status_code == 422 and "there is no node" in missing.get_data(as_text=True)


def test_an_action_not_offered_is_refused_and_the_preview_stays(trainer):
    page = trainer.get("/studio/late-delivery/preview").get_data(as_text=True)
    response = trainer.post("/studio/late-delivery/preview", data={"state": _state(page), "choice": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "is not offered" in html and 'data-testid="node-opening"' in html


def test_a_forged_or_foreign_state_is_refused(trainer):
    page = trainer.get("/studio/late-delivery/preview").get_data(as_text=True)
    forged = trainer.post("/studio/late-delivery/preview", data={"state": "e30.forged", "choice": "acknowledge"})
    assert forged.status_code == 400
    # A state made for one scenario names its version; another id does not play it.
    foreign = trainer.post("/studio/persian-listening/preview", data={"state": _state(page), "choice": "x"})
    assert foreign.status_code == 404
    assert trainer.get("/studio/nothing-here/preview").status_code == 404


def test_a_draft_with_errors_goes_back_to_the_editor(trainer, rendered):
    response = trainer.post("/studio/preview", data={"text": WARNED.replace("goto: end}", "goto: gone}"),
                                                     "base": "0"})
    assert response.status_code == 422 and rendered[-1] == "studio/editor.html"
    assert "Fix the errors below before previewing." in response.get_data(as_text=True)


def test_a_preview_keeps_the_version_it_started_on(app, trainer):
    with app.app_context():
        user_id = db.session.scalar(text("SELECT id FROM users WHERE username = 'tina'"))
        publish(user_id, Draft(WARNED))
    page = trainer.get("/studio/warned/preview").get_data(as_text=True)
    with app.app_context():
        publish(user_id, Draft(WARNED.replace("Well done.", "Changed since."), {}, "warned", 1))
        assert len(db.session.scalars(select(Publication)).all()) == 2
    page = trainer.post("/studio/warned/preview", data={"state": _state(page), "choice": "go"}).get_data(as_text=True)
    assert "Well done." in page and "Changed since." not in page
    fresh = trainer.get("/studio/warned/preview").get_data(as_text=True)
    fresh = trainer.post("/studio/warned/preview", data={"state": _state(fresh), "choice": "go"}).get_data(as_text=True)
    assert "Changed since." in fresh


def test_a_persian_scenario_preview_carries_its_direction(trainer):
    page = trainer.get("/studio/persian-listening/preview").get_data(as_text=True)
    assert 'lang="fa" dir="rtl"' in page


COURSE = """id: first-course
title: First steps
description: Start **here**.
modules:
  - lesson: lessons/welcome.md
    title: Welcome
  - scenario: late-delivery
"""
LESSON = "## Hello\n\nRead <script>alert(1)</script> this."


def test_a_course_draft_previews_its_modules_and_rendered_lessons(app, trainer):
    before = _snapshot(app)
    form = {"text": COURSE, "base": "0", "lesson_path-0": "lessons/welcome.md", "lesson_text-0": LESSON}
    response = trainer.post("/studio/preview", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h3>Hello</h3>" in html and "<script>" not in html and "Start <strong>here</strong>." in html
    assert 'data-testid="module-2"' in html and "A third late delivery" in html
    assert 'name="lesson_text-0" value="## Hello' in html  # publishing from the preview sends the lessons too
    assert _snapshot(app) == before


def test_a_published_course_previews_with_its_stored_lessons(app, trainer):
    form = {"text": COURSE, "base": "0", "lesson_path-0": "lessons/welcome.md", "lesson_text-0": LESSON}
    assert trainer.post("/studio/publish", data=form).status_code == 303
    html = trainer.get("/studio/first-course/preview").get_data(as_text=True)
    assert "<h3>Hello</h3>" in html and "/studio/late-delivery/preview" in html
