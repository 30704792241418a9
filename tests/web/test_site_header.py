"""The header's fixed parts are rendered once per language, role and mount point, and never mixed up."""

from __future__ import annotations

from typing import Callable

from flask import Flask
from flask.testing import FlaskClient

STAFF_LINKS = ('href="/studio', 'href="/admin/users', 'href="/admin/teams')


def _header(client: FlaskClient, **kwargs: object) -> str:
    page = client.get("/dashboard", **kwargs).get_data(as_text=True)  # type: ignore[arg-type]
    return page.split("<main", 1)[0]


def test_each_role_sees_its_own_links_from_one_shared_store(app: Flask, make_user: Callable[..., int],
                                                            login: Callable[[str, str], FlaskClient]) -> None:
    make_user("ayse", "trainee")
    make_user("tarik", "trainer")
    make_user("ada", "admin")
    seen = {}
    for name in ("ayse", "tarik", "ada", "ayse"):
        header = _header(login(name))
        assert 'href="/dashboard"' in header and 'href="/static/app.css"' in header
        seen[name] = {link for link in STAFF_LINKS if link in header}
        login(name).post("/logout")
    assert seen["ayse"] == set()
    assert seen["tarik"] == {'href="/studio'}
    assert seen["ada"] == set(STAFF_LINKS)


def test_a_role_change_shows_once_signed_in_again(app: Flask, trainee: FlaskClient,
                                                  login: Callable[[str, str], FlaskClient]) -> None:
    from app.accounts import set_role
    from app.extensions import db
    from app.models import User

    assert 'href="/studio' not in _header(trainee)
    with app.app_context():
        user = db.session.query(User).filter_by(username="ayse").one()
        set_role(user.id, "trainer")
    assert 'href="/studio' in _header(login("ayse"))


def test_the_links_follow_the_mount_point_and_the_language(app: Flask, trainee: FlaskClient) -> None:
    mounted = _header(trainee, environ_overrides={"SCRIPT_NAME": "/dojo"})
    assert 'href="/dojo/dashboard"' in mounted and 'href="/dojo/static/app.css"' in mounted
    assert 'href="/dashboard"' in _header(trainee)
    _header(trainee, headers={"Accept-Language": "fa"})
    locales = {key[0] for key in app.extensions["site_header"]}
    assert {"en", "fa"} <= locales


def test_signed_out_pages_carry_only_the_head_part(app: Flask, client: FlaskClient,
                                                   make_user: Callable[..., int]) -> None:
    make_user("ayse")
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/static/app.css"' in page and 'href="/dashboard"' not in page
