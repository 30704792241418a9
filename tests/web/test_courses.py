"""Courses for trainees: catalogue, unlock rules, lessons stored with the version, progress and completion."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import func, select

from app import courses, rewards
from app.content_sync import sync_library
from app.extensions import db
from app.models import ContentVersion, CourseCompletion, LessonOpen, LessonText, User

LIBRARY = Path(__file__).resolve().parent / "library"
GOOD_REPLY = "I will send a replacement today and I can refund the shipping."


def start(client, content_id: str) -> int:
    response = client.post(f"/library/{content_id}/start")
    assert response.status_code == 303
    return int(re.search(r"/attempts/(\d+)$", response.headers["Location"]).group(1))


def act(client, attempt_id: int, step: int, **fields):
    response = client.post(f"/attempts/{attempt_id}/act", data={"step": str(step), **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def pass_late_delivery(client) -> None:
    attempt = start(client, "late-delivery")
    act(client, attempt, 1, choice="acknowledge")
    act(client, attempt, 2, reply=GOOD_REPLY)


def pass_loyalty_case(client) -> None:
    attempt = start(client, "loyalty-case")
    act(client, attempt, 1, option="1")
    act(client, attempt, 2, reply="Add a birthday drink and count returns")


def fail_late_delivery(client) -> None:
    attempt = start(client, "late-delivery")
    act(client, attempt, 1, choice="blame")


def user_id(app, username: str = "ayse") -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def completions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CourseCompletion))


def test_catalogue_lists_courses_with_progress_and_direction(trainee):
    page = trainee.get("/courses").get_data(as_text=True)
    assert "Your first week" in page and "گوش دادن" in page
    assert '<progress max="4" value="0"' in page
    assert "0 of 4 modules passed" in page
    assert 'lang="fa" dir="rtl"' in page


def test_sequential_course_opens_modules_one_after_another(trainee):
    page = trainee.get("/courses/first-week").get_data(as_text=True)
    assert "/courses/first-week/lessons/1" in page
    assert page.count('data-testid="locked"') == 3
    assert trainee.get("/courses/first-week/lessons/4").status_code == 403
    assert trainee.get("/courses/first-week/lessons/1").status_code == 200
    page = trainee.get("/courses/first-week").get_data(as_text=True)
    assert page.count('data-testid="locked"') == 2
    assert 'action="/library/late-delivery/start"' in page
    start(trainee, "late-delivery")
    assert ">Resume</button>" in trainee.get("/courses/first-week").get_data(as_text=True)
    fail_late_delivery(trainee)  # a failed attempt does not pass the module
    assert trainee.get("/courses/first-week").get_data(as_text=True).count('data-testid="locked"') == 2
    pass_late_delivery(trainee)
    assert trainee.get("/courses/first-week").get_data(as_text=True).count('data-testid="locked"') == 1


def test_open_course_opens_every_module(trainee):
    page = trainee.get("/courses/goosh-dadan").get_data(as_text=True)
    assert 'data-testid="locked"' not in page
    assert 'action="/library/persian-listening/start"' in page


def test_lesson_is_rendered_sanitised_in_the_course_language(trainee):
    page = trainee.get("/courses/first-week/lessons/1").get_data(as_text=True)
    assert "<strong>how you made them feel</strong>" in page
    assert "<h2>Welcome</h2>" in page          # the lesson's "# Welcome", under the page's own h1
    assert "<script>alert" not in page and "javascript:" not in page
    persian = trainee.get("/courses/goosh-dadan/lessons/1").get_data(as_text=True)
    assert '<article class="lesson" lang="fa" dir="rtl">' in persian and "<strong>کامل</strong>" in persian


def test_unknown_course_module_or_non_lesson_is_404(trainee):
    assert trainee.get("/courses/nope").status_code == 404
    assert trainee.get("/courses/first-week/lessons/9").status_code == 404
    assert trainee.get("/courses/first-week/lessons/2").status_code == 404  # a scenario, not a lesson
    assert trainee.get("/courses/late-delivery").status_code == 404  # a scenario id is not a course


def test_opening_a_lesson_twice_records_it_once(app, trainee):
    trainee.get("/courses/first-week/lessons/1")
    trainee.get("/courses/first-week/lessons/1")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LessonOpen)) == 1


def test_course_completes_when_the_last_module_is_passed_and_only_once(app, trainee):
    uid = user_id(app)
    trainee.get("/courses/first-week/lessons/1")
    pass_late_delivery(trainee)
    pass_loyalty_case(trainee)
    assert completions(app) == 0
    page = trainee.get("/courses/first-week").get_data(as_text=True)
    assert "3 of 4 modules passed" in page and 'data-testid="course-completed"' not in page
    trainee.get("/courses/first-week/lessons/4")  # the last step is a lesson: opening it completes the course
    assert completions(app) == 1
    page = trainee.get("/courses/first-week").get_data(as_text=True)
    assert "4 of 4 modules passed" in page and 'data-testid="course-completed"' in page
    pass_late_delivery(trainee)  # playing again later records nothing new
    trainee.get("/courses/first-week/lessons/4")
    assert completions(app) == 1
    with app.app_context():
        assert rewards.completed_courses(uid) == {"first-week"}


def test_completion_is_detected_when_an_attempt_finishes(app, trainee):
    trainee.get("/courses/goosh-dadan/lessons/1")
    assert completions(app) == 0
    attempt = start(trainee, "persian-listening")
    act(trainee, attempt, 1, choice="listen")
    assert completions(app) == 1
    with app.app_context():
        assert rewards.completed_courses(user_id(app)) == {"goosh-dadan"}


def test_a_course_completes_when_its_last_scenario_is_passed_after_its_lessons_were_opened(app, trainee):
    trainee.get("/courses/first-week/lessons/1")
    pass_loyalty_case(trainee)
    trainee.get("/courses/first-week/lessons/4")
    fail_late_delivery(trainee)
    assert completions(app) == 0  # a failed attempt passes nothing
    pass_late_delivery(trainee)
    assert completions(app) == 1
    with app.app_context():
        assert rewards.completed_courses(user_id(app)) == {"first-week"}
    pass_late_delivery(trainee)
    assert completions(app) == 1


def test_a_passed_scenario_leaves_a_course_with_an_unopened_lesson_incomplete(app, trainee):
    pass_late_delivery(trainee)
    pass_loyalty_case(trainee)
    trainee.get("/courses/first-week/lessons/1")
    assert completions(app) == 0  # lesson 4 is still unopened
    trainee.get("/courses/first-week/lessons/4")
    assert completions(app) == 1


def test_record_completion_reports_whether_it_was_new(app, trainee):
    from app.database import write

    uid = user_id(app)
    with app.app_context():
        version_id = courses.course_progress(uid, "first-week").version_id
        assert write(lambda: courses.record_completion(uid, "first-week", version_id)) is True
        assert write(lambda: courses.record_completion(uid, "first-week", version_id)) is False


def test_other_trainees_progress_is_their_own(app, trainee, make_user, login):
    trainee.get("/courses/first-week/lessons/1")
    make_user("bora", "trainee")
    other = app.test_client()
    other.post("/login", data={"username": "bora", "password": "correct horse battery staple"})
    assert "0 of 4 modules passed" in other.get("/courses/first-week").get_data(as_text=True)


def test_lesson_text_stays_with_its_version(app, trainee, tmp_path):
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    with app.app_context():
        sync_library(library, None)
    before = trainee.get("/courses/goosh-dadan/lessons/1").get_data(as_text=True)
    assert "<strong>کامل</strong>" in before
    (library / "courses" / "lessons" / "goosh.md").write_text("# تازه\n\nمتن **تازه**.\n", encoding="utf-8")
    with app.app_context():
        sync_library(library, None)
        # Editing a lesson makes a new version of the course, the old one kept as it was.
        assert db.session.scalar(select(func.count()).select_from(ContentVersion)
                                 .where(ContentVersion.content_id == "goosh-dadan")) == 2
        texts = list(db.session.scalars(select(LessonText.markdown).where(LessonText.ref == "lessons/goosh.md")))
    assert len(texts) == 2 and any("کامل" in text for text in texts)  # the old version keeps its text
    assert "<strong>تازه</strong>" in trainee.get("/courses/goosh-dadan/lessons/1").get_data(as_text=True)


def test_completion_recorded_at_the_same_moment_twice_is_new_only_once(app, trainee):
    import threading

    from app.database import write

    uid = user_id(app)
    with app.app_context():
        version_id = courses.course_progress(uid, "first-week").version_id
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def record() -> None:
        with app.app_context():
            barrier.wait()
            results.append(write(lambda: courses.record_completion(uid, "first-week", version_id)))

    threads = [threading.Thread(target=record) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert completions(app) == 1
