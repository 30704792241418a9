"""Publishing from the browser: checks at their lines over files and published content, versions, conflicts."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.content_sync import sync_library
from app.extensions import db
from app.models import Attempt, ContentVersion, LessonText, LibraryEntry, LibraryProblem, Publication
from app.publishing import Draft, Published, Refused, Stale, check_draft, publish

from tests.web.conftest import LIBRARY

SCENARIO = """id: first-call
title: The first call
language: en
nodes:
  opening:
    say: Hello, I have a question.
    choices:
      - {id: listen, text: Tell me more., points: 5, goto: done}
      - {id: rush, text: Be quick please., goto: lost}
  done:
    ending: success
    debrief: You listened.
  lost:
    ending: failure
"""
BROKEN = SCENARIO.replace("goto: done}", "goto: nowhere}")
COURSE = """id: first-course
title: First steps
modules:
  - lesson: lessons/welcome.md
  - scenario: first-call
  - scenario: late-delivery
"""


@pytest.fixture
def trainer(make_user, login):
    """A signed-in trainer's client."""
    make_user("tina", "trainer", display_name="Tina Trainer")
    return login("tina")


def _trainer_id(app) -> int:
    from app.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == "tina"))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_htmx_check_lists_each_problem_at_its_line(trainer, rendered):
    response = trainer.post("/studio/check", data={"text": BROKEN, "base": "0"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rendered == ["studio/_problems.html"]
    assert 'data-line="8"' in html and "Line 8, column" in html
    assert "&#39;nowhere&#39;, which does not exist" in html
    assert "1 error" in html


def test_the_check_button_without_javascript_returns_the_editor_with_the_text(trainer, rendered):
    response = trainer.post("/studio/check", data={"text": BROKEN, "base": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and rendered[0] == "studio/editor.html"
    assert "goto: nowhere}" in html and "Line 8, column" in html


def test_a_yaml_syntax_error_is_shown_at_its_line(trainer):
    html = trainer.post("/studio/check", data={"text": "id: x\ntitle: [unclosed\n", "base": "0"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "bad YAML" in html and re.search(r'data-line="[23]"', html)


def test_a_valid_draft_says_so(trainer):
    html = trainer.post("/studio/check", data={"text": SCENARIO, "base": "0"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-testid="no-problems"' in html


def test_a_course_is_checked_against_files_and_published_content_together(app, trainer):
    missing = check_draft_in(app, Draft(COURSE, {"lessons/welcome.md": "# Welcome"}))
    assert [(p.line, p.message) for p in missing.errors] == [(5, "no scenario with id 'first-call' in the library")]
    with app.app_context():
        publish(_trainer_id(app), Draft(SCENARIO))
    found = check_draft_in(app, Draft(COURSE, {"lessons/welcome.md": "# Welcome"}))
    assert found.ok, found.errors


def check_draft_in(app, draft):
    with app.test_request_context():
        return check_draft(draft)


def test_a_course_needs_the_text_of_each_lesson_it_names(app, trainer):
    html = trainer.post("/studio/check", data={"text": COURSE.replace("first-call", "late-delivery"), "base": "0"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Line 4, column" in html and "lesson &#39;lessons/welcome.md&#39; has no text yet" in html
    # The editor did not show a box for that lesson yet: the answer brings one along, out of band.
    assert 'id="draft-lessons" class="lessons" hx-swap-oob="true"' in html
    assert 'name="lesson_path-0" value="lessons/welcome.md"' in html
    bad = trainer.post("/studio/check", data={"text": COURSE.replace("lessons/welcome.md", "../x.md"), "base": "0"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "must be relative and stay inside the course" in bad


def test_a_course_is_published_with_its_lessons(app, trainer):
    with app.app_context():
        publish(_trainer_id(app), Draft(SCENARIO))
    form = {"text": COURSE, "base": "0", "lesson_path-0": "lessons/welcome.md", "lesson_text-0": "# Welcome\r\nHi"}
    response = trainer.post("/studio/publish", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/studio/first-course/edit")
    with app.app_context():
        assert _published_lessons() == [("lessons/welcome.md", "# Welcome\nHi")]
    editor = trainer.get("/studio/first-course/edit").get_data(as_text=True)
    assert "# Welcome\nHi</textarea>" in editor
    # The same course text with another lesson text is a new version: the lessons are part of it.
    form["lesson_text-0"] = "# Welcome back"
    form["replaces"], form["base"] = "first-course", "1"
    assert trainer.post("/studio/publish", data=form).status_code == 303
    with app.app_context():
        assert len(_published_lessons()) == 2


def _published_lessons() -> list[tuple[str, str]]:
    """Lessons stored with published versions (the test library's own courses store theirs too)."""
    return [tuple(row) for row in db.session.execute(
        select(LessonText.ref, LessonText.markdown).join(ContentVersion, ContentVersion.id == LessonText.version_id)
        .where(ContentVersion.source.like("published:%")).order_by(LessonText.version_id))]


def test_an_uploaded_lesson_file_is_used(app, trainer):
    with app.app_context():
        publish(_trainer_id(app), Draft(SCENARIO))
    form = {"text": COURSE, "base": "0", "lesson_path-0": "lessons/welcome.md", "lesson_text-0": "",
            "lesson_file-0": (io.BytesIO("# Hoş geldiniz".encode()), "welcome.md")}
    assert trainer.post("/studio/publish", data=form, content_type="multipart/form-data").status_code == 303
    with app.app_context():
        assert [markdown for _, markdown in _published_lessons()] == ["# Hoş geldiniz"]


def test_publishing_stores_a_version_the_trainees_see(app, trainer, make_user, login):
    response = trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    assert response.status_code == 303
    with app.app_context():
        entry = db.session.get(LibraryEntry, "first-call")
        assert entry.active and entry.version.source == "published:first-call"
        assert db.session.scalar(select(Publication.number)) == 1
    make_user("ayse", "trainee")
    trainer.post("/logout")
    assert "The first call" in login("ayse").get("/library").get_data(as_text=True)


def test_htmx_publish_redirects_with_hx_redirect(trainer):
    response = trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/studio/first-call/edit"


def test_a_draft_with_errors_is_refused_with_its_messages(app, trainer):
    before = _count(app, ContentVersion)
    response = trainer.post("/studio/publish", data={"text": BROKEN, "base": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not published: fix the errors below first." in html and "Line 8, column" in html
    assert "goto: nowhere}" in html  # the text is kept
    assert _count(app, ContentVersion) == before and _count(app, Publication) == 0


def test_the_same_text_twice_is_one_version(app, trainer):
    for _ in range(2):
        assert trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"}).status_code == 303
    assert trainer.post("/studio/publish", data={"text": SCENARIO, "base": "1", "replaces": "first-call"}
                        ).status_code == 303
    assert _count(app, Publication) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContentVersion)
                                 .where(ContentVersion.content_id == "first-call")) == 1


def test_a_new_version_needs_the_newest_base_and_keeps_running_attempts_on_theirs(app, trainer, make_user, login):
    trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    make_user("ayse", "trainee")
    player = app.test_client()
    player.post("/login", data={"username": "ayse", "password": "correct horse battery staple"})
    attempt_url = player.post("/library/first-call/start").headers["Location"]
    second = SCENARIO.replace("The first call", "The first call, again")
    assert trainer.post("/studio/publish", data={"text": second, "base": "1", "replaces": "first-call"}
                        ).status_code == 303
    # Opened from version 1 again: someone already published version 2.
    stale = trainer.post("/studio/publish", data={"text": second + "# again\n", "base": "1",
                                                  "replaces": "first-call"})
    assert stale.status_code == 422 and "Line 1, column 5" in stale.get_data(as_text=True)
    assert "published again since you opened it (now version 2)" in stale.get_data(as_text=True)
    # Not opened from the published id at all: new content may not take an id in use.
    taken = trainer.post("/studio/publish", data={"text": second + "# new\n", "base": "0"})
    assert "is already published; open it in the studio" in taken.get_data(as_text=True)
    assert "The first call, again" not in player.get(attempt_url).get_data(as_text=True)
    with app.app_context():
        versions = db.session.scalars(select(Publication.version_id).order_by(Publication.number)).all()
        assert db.session.scalar(select(Attempt.version_id)) == versions[0] != versions[1]


def test_two_trainers_publishing_the_same_id_at_once_one_wins(app, trainer):
    trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    user_id = _trainer_id(app)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def race(title: str) -> None:
        with app.test_request_context():
            barrier.wait()
            try:
                outcomes.append(publish(user_id, Draft(SCENARIO.replace("The first call", title), {},
                                                       "first-call", 1)))
            except (Stale, Refused) as exc:
                outcomes.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race, args=(title,)) for title in ("Version A", "Version B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [outcome for outcome in outcomes if isinstance(outcome, Published)]
    assert len(winners) == 1 and winners[0].number == 2 and winners[0].new
    assert len(outcomes) == 2
    with app.app_context():
        assert db.session.scalars(select(Publication.number).order_by(Publication.number)).all() == [1, 2]


def test_publishing_an_id_a_file_defines_is_refused(trainer):
    text = SCENARIO.replace("id: first-call", "id: late-delivery")
    html = trainer.post("/studio/publish", data={"text": text, "base": "0"}).get_data(as_text=True)
    assert "Line 1, column" in html and "defined by the file scenarios/late-delivery.yaml" in html


def test_the_badge_catalogue_cannot_be_published(trainer):
    html = trainer.post("/studio/check", data={"text": "badges: []\n", "base": "0"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "only scenarios, case studies and courses are published here" in html


def test_a_file_defining_a_published_id_is_an_error_and_published_content_wins(app, trainer, tmp_path):
    trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    root = tmp_path / "library"
    (root / "scenarios").mkdir(parents=True)
    (root / "courses").mkdir()
    (root / "courses" / "skills.yaml").write_text((LIBRARY / "courses" / "skills.yaml").read_text())
    (root / "scenarios" / "clash.yaml").write_text(SCENARIO.replace("The first call", "From a file"))
    with app.app_context():
        result = sync_library(root, Path(app.static_folder))
        assert result.skipped == ["scenarios/clash.yaml"]
        problem = db.session.scalars(select(LibraryProblem)).one()
        assert (problem.path, problem.line, problem.severity) == ("scenarios/clash.yaml", 1, "error")
        assert "already published from the browser, and published content wins" in problem.message
        entry = db.session.get(LibraryEntry, "first-call")
        assert entry.active and entry.version.title == "The first call"
    page = trainer.get("/library/problems").get_data(as_text=True)
    assert "scenarios/clash.yaml" in page and "published content wins" in page


def test_published_content_survives_a_sync_and_a_restart(app, app_config, trainer):
    trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    with app.app_context():
        sync_library(LIBRARY, Path(app.static_folder))
        assert db.session.get(LibraryEntry, "first-call").active
    from app import create_app

    again = create_app(app_config)
    with again.app_context():
        entry = db.session.get(LibraryEntry, "first-call")
        assert entry.active and entry.version.source == "published:first-call"
        db.session.remove()
        db.engine.dispose()


def test_download_gives_the_yaml_exactly_as_published(app, trainer):
    trainer.post("/studio/publish", data={"text": SCENARIO.replace("\n", "\r\n"), "base": "0"})
    second = SCENARIO.replace("The first call", "Ayşe's first call")
    trainer.post("/studio/publish", data={"text": second, "base": "1", "replaces": "first-call"})
    current = trainer.get("/studio/first-call/download")
    assert current.status_code == 200 and current.data == second.encode("utf-8")
    assert current.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert 'filename="first-call.yaml"' in current.headers["Content-Disposition"]
    assert trainer.get("/studio/first-call/download?version=1").data == SCENARIO.encode("utf-8")
    assert trainer.get("/studio/first-call/download?version=9").status_code == 404
    assert trainer.get("/studio/first-call/download?version=x").status_code == 400
    assert trainer.get("/studio/late-delivery/download").data == (LIBRARY / "scenarios" / "late-delivery.yaml"
                                                                  ).read_bytes()
    assert trainer.get("/studio/nothing-here/download").status_code == 404


def test_an_uploaded_file_replaces_the_text(trainer):
    form = {"text": "", "base": "0", "file": (io.BytesIO(("\ufeff" + SCENARIO).encode()), "first-call.yaml")}
    html = trainer.post("/studio/check", data=form, content_type="multipart/form-data").get_data(as_text=True)
    assert 'data-testid="no-problems"' in html and "title: The first call" in html
    bad = {"text": "", "base": "0", "file": (io.BytesIO(b"id: \xff"), "bad.yaml")}
    response = trainer.post("/studio/check", data=bad, content_type="multipart/form-data")
    assert response.status_code == 400 and "not valid UTF-8" in response.get_data(as_text=True)


def test_editing_content_never_published_is_a_404_and_bad_forms_a_400(trainer):
    assert trainer.get("/studio/late-delivery/edit").status_code == 404
    assert trainer.post("/studio/check", data={"text": SCENARIO, "base": "x"}).status_code == 400


def test_the_studio_lists_files_and_published_content(trainer):
    trainer.post("/studio/publish", data={"text": SCENARIO, "base": "0"})
    html = trainer.get("/studio").get_data(as_text=True)
    assert "scenarios/late-delivery.yaml" in html and "Published, version 1" in html
    assert "/studio/first-call/edit" in html and "/studio/late-delivery/edit" not in html
