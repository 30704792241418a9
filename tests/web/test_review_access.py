"""Who may reach which mentoring route for whose data: a table generated from routes, roles and ownership."""

from __future__ import annotations

import itertools

import pytest

from app.mentoring import assign
from app.reviews import Grade, save_review
from tests.web.review_support import PASSWORD, play_with_reply

# Who asks, relative to the data in the URL.
ASKERS = ("anonymous", "owner", "other-trainee", "paired-mentor", "unpaired-mentor", "trainer", "admin")
USERS = {"owner": "trainee", "other-trainee": "trainee", "paired-mentor": "mentor", "unpaired-mentor": "mentor",
         "trainer": "trainer", "admin": "admin"}

# Each route names the askers who reach it; everyone else signed in gets a 404, anonymous callers sign in.
MENTOR_OF_OWNER = ("paired-mentor", "admin")
ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/review/attempts/{attempt}"): MENTOR_OF_OWNER,
    ("POST", "/review/attempts/{attempt}/claim"): MENTOR_OF_OWNER,
    ("POST", "/review/attempts/{attempt}/release"): MENTOR_OF_OWNER,
    ("POST", "/review/attempts/{attempt}/comments"): MENTOR_OF_OWNER,
    ("POST", "/review/attempts/{attempt}/grade"): MENTOR_OF_OWNER,
    ("POST", "/review/attempts/{attempt}/retry"): MENTOR_OF_OWNER,
    ("GET", "/review/trainees/{owner}"): MENTOR_OF_OWNER,
    ("GET", "/reviews/{review}"): ("owner",),
    ("POST", "/reviews/{review}/question"): ("owner",),
    ("GET", "/attempts/{attempt}"): ("owner",),
}
CASES = [(method, path, asker) for (method, path), asker in itertools.product(ROUTES, ASKERS)]


@pytest.fixture
def world(app, make_user):
    """An owner's finished, reviewed attempt; one mentor paired with the owner, one not."""
    ids = {asker: make_user(asker, role) for asker, role in USERS.items()}
    owner = app.test_client()
    owner.post("/login", data={"username": "owner", "password": PASSWORD})
    attempt_id = play_with_reply(owner)
    with app.app_context():
        assign(ids["admin"], ids["paired-mentor"], ids["owner"])
        assign(ids["admin"], ids["unpaired-mentor"], ids["other-trainee"])
        scores = {item["id"]: 1 for item in app.config["DEFAULT_RUBRIC"]}
        review_id = save_review(ids["paired-mentor"], attempt_id, 0, Grade(scores)).review_id
    return {"attempt": attempt_id, "review": review_id, "owner": ids["owner"]}


def test_the_table_covers_every_mentoring_route_with_an_id(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
              if rule.rule.startswith(("/review/", "/reviews/")) and "<" in rule.rule}
    named = {(method, path.replace("{attempt}", "<id:attempt_id>").replace("{owner}", "<id:trainee_id>")
              .replace("{review}", "<id:review_id>")) for method, path in ROUTES if path.startswith("/review")}
    assert served == named


@pytest.mark.parametrize("method, path, asker", CASES, ids=[f"{m} {p} as {a}" for m, p, a in CASES])
def test_route_answers_by_role_and_ownership(app, world, method, path, asker):
    client = app.test_client()
    if asker != "anonymous":
        client.post("/login", data={"username": asker, "password": PASSWORD})
    response = client.open(path.format(**world), method=method, data={})
    assert response.status_code < 500
    if asker == "anonymous":
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    elif asker in ROUTES[(method, path)]:
        assert response.status_code != 404
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("asker", ["other-trainee", "unpaired-mentor", "trainer"])
def test_lists_show_nothing_of_other_mentors_trainees(app, world, asker):
    client = app.test_client()
    client.post("/login", data={"username": asker, "password": PASSWORD})
    for page in ("/review/queue", "/review/overview", "/reviews", "/attempts"):
        response = client.get(page)
        assert response.status_code in (200, 404)
        assert f"/attempts/{world['attempt']}" not in response.get_data(as_text=True)
