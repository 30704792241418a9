"""Every route, for every role: who may call it, who is sent to sign in, and who gets a 404."""

from __future__ import annotations

import pytest
from flask import Flask

from app.publishing import Draft, publish

ROLES = ("anonymous", "trainee", "mentor", "trainer", "admin")
STAFF = ("trainer", "admin")
MENTORS = ("mentor", "admin")  # the mentor is paired with the trainee who owns the attempt
SIGNED_IN = ROLES[1:]

# (method, rule) -> the roles allowed through; anonymous callers of any other route are sent to sign in,
# and signed-in callers without the role get a 404. Routes marked OPEN answer everyone.
OPEN = "open"
ACCESS: dict[tuple[str, str], tuple[str, ...] | str] = {
    ("GET", "/"): OPEN,
    ("GET", "/static/<path:filename>"): OPEN,
    ("GET", "/login"): OPEN,
    ("POST", "/login"): OPEN,
    ("GET", "/setup"): "gone",
    ("POST", "/setup"): "gone",
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/password"): SIGNED_IN,
    ("POST", "/password"): SIGNED_IN,
    ("GET", "/library"): SIGNED_IN,
    ("POST", "/library/<content_id>/start"): SIGNED_IN,
    ("GET", "/attempts"): SIGNED_IN,
    ("GET", "/attempts/<id:attempt_id>"): ("trainee",),
    ("POST", "/attempts/<id:attempt_id>/act"): ("trainee",),
    ("POST", "/attempts/<id:attempt_id>/restart"): ("trainee",),
    ("GET", "/courses"): SIGNED_IN,
    ("GET", "/courses/<content_id>"): SIGNED_IN,
    ("GET", "/courses/<content_id>/lessons/<id:number>"): SIGNED_IN,
    ("GET", "/library/problems"): STAFF,
    ("POST", "/library/sync"): STAFF,
    ("GET", "/library/scenarios/<content_id>/map"): STAFF,
    ("GET", "/analytics"): STAFF,
    ("GET", "/analytics/scenarios/<content_id>"): STAFF,
    ("GET", "/analytics/scenarios/<content_id>/<table>.csv"): STAFF,
    ("GET", "/analytics/courses/<content_id>"): STAFF,
    ("GET", "/analytics/courses/<content_id>/<table>.csv"): STAFF,
    ("GET", "/studio"): STAFF,
    ("GET", "/studio/new"): STAFF,
    ("GET", "/studio/<content_id>/edit"): STAFF,
    ("POST", "/studio/check"): STAFF,
    ("POST", "/studio/publish"): STAFF,
    ("GET", "/studio/<content_id>/download"): STAFF,
    ("GET", "/studio/<content_id>/preview"): STAFF,
    ("POST", "/studio/<content_id>/preview"): STAFF,
    ("POST", "/studio/preview"): STAFF,
    ("GET", "/admin/users"): ("admin",),
    ("POST", "/admin/users"): ("admin",),
    ("POST", "/admin/users/<id:user_id>/deactivate"): ("admin",),
    ("POST", "/admin/users/<id:user_id>/reactivate"): ("admin",),
    ("POST", "/admin/users/<id:user_id>/password"): ("admin",),
    ("POST", "/admin/users/<id:user_id>/role"): ("admin",),
    ("GET", "/admin/users/import"): ("admin",),
    ("POST", "/admin/users/import"): ("admin",),
    ("GET", "/dashboard"): SIGNED_IN,
    ("GET", "/profile"): SIGNED_IN,
    ("POST", "/profile/visibility"): SIGNED_IN,
    ("GET", "/points"): SIGNED_IN,
    ("GET", "/leaderboards"): SIGNED_IN,
    ("GET", "/feed"): SIGNED_IN,
    ("GET", "/admin/teams"): ("admin",),
    ("POST", "/admin/teams"): ("admin",),
    ("POST", "/admin/teams/<id:team_id>/delete"): ("admin",),
    ("POST", "/admin/teams/<id:team_id>/members"): ("admin",),
    ("POST", "/admin/teams/<id:team_id>/members/<id:user_id>/remove"): ("admin",),
    ("POST", "/admin/leaderboards"): ("admin",),
    ("GET", "/review/queue"): MENTORS,
    ("GET", "/review/overview"): MENTORS,
    ("GET", "/review/trainees/<id:trainee_id>"): MENTORS,
    ("GET", "/review/attempts/<id:attempt_id>"): MENTORS,
    ("POST", "/review/attempts/<id:attempt_id>/claim"): MENTORS,
    ("POST", "/review/attempts/<id:attempt_id>/release"): MENTORS,
    ("POST", "/review/attempts/<id:attempt_id>/comments"): MENTORS,
    ("POST", "/review/attempts/<id:attempt_id>/grade"): MENTORS,
    ("POST", "/review/attempts/<id:attempt_id>/retry"): MENTORS,
    ("GET", "/reviews"): SIGNED_IN,
    ("GET", "/reviews/<id:review_id>"): ("trainee",),
    ("POST", "/reviews/<id:review_id>/question"): ("trainee",),
    ("GET", "/mentors"): STAFF,
    ("POST", "/mentors"): STAFF,
    ("POST", "/mentors/remove"): STAFF,
    ("GET", "/admin/audit"): ("admin",),
}


PUBLISHED_SCENARIO = """id: published-one
title: Published from the browser
nodes:
  start:
    say: Hello
    choices:
      - {id: done, text: Bye, goto: end}
  end:
    ending: success
"""


def app_routes(app: Flask) -> set[tuple[str, str]]:
    """Every (method, rule) the app serves."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_the_access_table_names_every_route(app):
    assert app_routes(app) == set(ACCESS), "add new routes to ACCESS with the roles that may call them"


@pytest.fixture
def world(app, make_user, login):
    """One user per role; the trainee owns a finished, reviewed attempt and has the mentor; a spare trainee is the
    target of admin actions."""
    from app.mentoring import assign
    from app.reviews import Grade, save_review

    ids = {role: make_user(f"user-{role}", role) for role in SIGNED_IN}
    ids["spare"] = make_user("spare-trainee", "trainee")
    owner = app.test_client()
    owner.post("/login", data={"username": "user-trainee", "password": "correct horse battery staple"})
    started = owner.post("/library/late-delivery/start")
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    owner.post(f"/attempts/{attempt_id}/act", data={"step": "1", "choice": "blame"})
    with app.app_context():
        from app import teams
        team_id = teams.create_team("Front desk")
        teams.add_member(team_id, "spare-trainee")
        publish(ids["trainer"], Draft(PUBLISHED_SCENARIO))
        assign(ids["admin"], ids["mentor"], ids["trainee"])
        scores = {item["id"]: 3 for item in app.config["DEFAULT_RUBRIC"]}
        review_id = save_review(ids["mentor"], attempt_id, 0, Grade(scores)).review_id
    return {"ids": ids, "attempt_id": attempt_id, "team_id": team_id, "review_id": review_id}


def _url(rule: str, world: dict) -> str:
    if rule == "/studio/<content_id>/edit":
        return "/studio/published-one/edit"  # only published content opens in the editor
    return (rule.replace("<id:attempt_id>", str(world["attempt_id"]))
            .replace("<id:review_id>", str(world["review_id"]))
            .replace("<id:trainee_id>", str(world["ids"]["trainee"]))
            .replace("<id:user_id>", str(world["ids"]["spare"]))
            .replace("<id:team_id>", str(world["team_id"]))
            .replace("/courses/<content_id>", "/courses/goosh-dadan")
            .replace("<table>", "summary")
            .replace("<id:number>", "1")
            .replace("<content_id>", "late-delivery")
            .replace("<path:filename>", "app.css"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, rule", sorted(ACCESS))
def test_route_answers_each_role_by_the_table(app, world, role, method, rule):
    client = app.test_client()
    if role != "anonymous":
        client.post("/login", data={"username": f"user-{role}", "password": "correct horse battery staple"})
    response = client.open(_url(rule, world), method=method, data={})
    allowed = ACCESS[(method, rule)]
    location = response.headers.get("Location", "")
    assert response.status_code < 500
    if allowed == "gone":
        assert response.status_code == 404  # set-up is over once an account exists
    elif allowed == OPEN or role in allowed:
        assert response.status_code != 404 or method == "GET" and rule == "/static/<path:filename>"
        assert "/login" not in location or rule in ("/", "/login") or method == "POST" and rule == "/logout"
    elif role == "anonymous":
        assert response.status_code in (302, 303) and "/login" in location
    else:
        assert response.status_code == 404
