"""User administration: list, create, role change, password reset, (de)activation, CSV import, access, CSRF."""

from __future__ import annotations

from io import BytesIO
from typing import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from tests.web.conftest import PASSWORD, csrf_token_from

HX = {"HX-Request": "true"}
NEW_PASSWORD = "a fresh start password"


@pytest.fixture
def admin(make_user: Callable[..., int], login: Callable[[str, str], FlaskClient]) -> FlaskClient:
    """A signed-in admin's client."""
    make_user("root", "admin", display_name="Site Admin")
    return login("root")


@pytest.fixture
def admin_id(admin: FlaskClient, app: Flask) -> int:
    """The signed-in admin's id."""
    return row(app, "root").id


def row(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None, f"no user {username}"
        db.session.expunge(user)
        return user


def usernames(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.username)))


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User)) or 0


def can_sign_in(app: Flask, username: str, password: str = PASSWORD) -> bool:
    return app.test_client().post("/login", data={"username": username, "password": password}).status_code == 303


def signed_in(client: FlaskClient) -> bool:
    return client.get("/password").status_code == 200


def other_browser(app: Flask, username: str) -> FlaskClient:
    """A second client signed in as `username` with remember-me."""
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": PASSWORD,
                                        "remember": "on"}).status_code == 303
    return browser


# Who may enter


ADMIN_ROUTES = [
    ("get", "/admin/users"), ("post", "/admin/users"), ("post", "/admin/users/1/role"),
    ("post", "/admin/users/1/password"), ("post", "/admin/users/1/deactivate"),
    ("post", "/admin/users/1/reactivate"), ("get", "/admin/users/import"), ("post", "/admin/users/import"),
]


@pytest.mark.parametrize("role", ["trainee", "mentor", "trainer"])
def test_other_roles_get_404_everywhere(app: Flask, make_user: Callable[..., int],
                                        login: Callable[[str, str], FlaskClient], role: str) -> None:
    make_user("root", "admin")
    make_user("someone", role)
    client = login("someone")
    for method, path in ADMIN_ROUTES:
        data = {"role": "admin", "password": NEW_PASSWORD, "username": "sneaky", "csv_text": "x"}
        response = getattr(client, method)(path, data=data if method == "post" else None)
        assert response.status_code == 404, (method, path)
    assert row(app, "someone").role == role
    assert row(app, "root").active
    assert "sneaky" not in usernames(app)


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("root", "admin")
    for method, path in ADMIN_ROUTES:
        response = getattr(client, method)(path)
        assert response.status_code == 303, (method, path)
        if method == "get":
            assert response.location.startswith("/login?next=/admin/users")
        else:  # a form cannot be replayed by the GET that `next` would make
            assert response.location == "/login"


# The list


def test_list_shows_every_account(admin: FlaskClient, make_user: Callable[..., int], rendered: list[str]) -> None:
    make_user("ayse", "trainee", display_name="Ayşe Yılmaz")
    make_user("bora", "mentor")
    response = admin.get("/admin/users")
    assert response.status_code == 200
    assert rendered[0] == "admin/users.html"
    html = response.get_data(as_text=True)
    for text in ("ayse", "Ayşe Yılmaz", "bora", "Mentor", "Trainee", "Admin", "Site Admin"):
        assert text in html
    assert html.count('class="badge-role"') == 3


def test_partial_htmx_request_gets_only_the_table(admin: FlaskClient, rendered: list[str]) -> None:
    response = admin.get("/admin/users", headers=HX)
    assert rendered == ["admin/_users_table.html"]
    assert "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


# Creating one account


def test_create_user(app: Flask, admin: FlaskClient) -> None:
    response = admin.post("/admin/users", data={"username": "Ayse", "display_name": "Ayşe Yılmaz",
                                                "role": "mentor", "password": NEW_PASSWORD})
    assert response.status_code == 303 and response.location == "/admin/users"
    user = row(app, "ayse")
    assert (user.display_name, user.role, user.active) == ("Ayşe Yılmaz", "mentor", True)
    assert can_sign_in(app, "ayse", NEW_PASSWORD)
    assert "Created ayse." in admin.get("/admin/users").get_data(as_text=True)


def test_create_user_with_htmx(admin: FlaskClient) -> None:
    response = admin.post("/admin/users", headers=HX, data={"username": "ayse", "role": "trainee",
                                                            "password": NEW_PASSWORD})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"


@pytest.mark.parametrize("form, status, message", [
    ({"username": "root", "role": "trainee", "password": NEW_PASSWORD}, 409, "The username root is taken."),
    ({"username": "a", "role": "trainee", "password": NEW_PASSWORD}, 400, "3 to 64 characters"),
    ({"username": "ayse", "role": "boss", "password": NEW_PASSWORD}, 400, "Unknown role boss"),
    ({"username": "ayse", "role": "trainee", "password": "short"}, 400, "at least 10 characters"),
    ({"username": "ayse", "role": "trainee", "display_name": "x" * 121, "password": NEW_PASSWORD}, 400,
     "at most 120 characters"),
    ({}, 400, "3 to 64 characters"),
])
def test_create_user_refuses_bad_input_readably(app: Flask, admin: FlaskClient, form: dict[str, str],
                                                status: int, message: str) -> None:
    response = admin.post("/admin/users", data=form)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count(app) == 1


# Changing a role


def test_change_role_applies_and_signs_the_user_out(app: Flask, admin: FlaskClient,
                                                    make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    browser = other_browser(app, "ayse")
    response = admin.post(f"/admin/users/{user_id}/role", data={"role": "trainer"})
    assert response.status_code == 303 and response.location == "/admin/users"
    assert row(app, "ayse").role == "trainer"
    assert not signed_in(browser)
    assert "ayse now has the role trainer." in admin.get("/admin/users").get_data(as_text=True)


def test_change_role_with_htmx(admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    response = admin.post(f"/admin/users/{user_id}/role", data={"role": "mentor"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"


def test_change_role_refuses_an_unknown_role(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    response = admin.post(f"/admin/users/{user_id}/role", data={"role": "overlord"})
    assert response.status_code == 400
    assert "Unknown role overlord" in response.get_data(as_text=True)
    assert row(app, "ayse").role == "trainee"


def test_an_admin_cannot_demote_themselves(app: Flask, admin: FlaskClient, admin_id: int) -> None:
    response = admin.post(f"/admin/users/{admin_id}/role", data={"role": "trainee"})
    assert response.status_code == 409
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    assert row(app, "root").role == "admin"
    assert signed_in(admin)


def test_an_admin_can_demote_another_admin(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    other = make_user("second", "admin")
    assert admin.post(f"/admin/users/{other}/role", data={"role": "mentor"}).status_code == 303
    assert row(app, "second").role == "mentor"


# Resetting a password


def test_reset_password(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    browser = other_browser(app, "ayse")
    response = admin.post(f"/admin/users/{user_id}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 303
    assert not signed_in(browser)
    assert not can_sign_in(app, "ayse", PASSWORD)
    assert can_sign_in(app, "ayse", NEW_PASSWORD)


def test_reset_password_lifts_a_sign_in_lock(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    guesser = app.test_client()
    for _ in range(6):
        guesser.post("/login", data={"username": "ayse", "password": "a wrong guess"},
                     environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert guesser.post("/login", data={"username": "ayse", "password": PASSWORD}).status_code == 429
    admin.post(f"/admin/users/{user_id}/password", data={"password": NEW_PASSWORD})
    assert can_sign_in(app, "ayse", NEW_PASSWORD)


def test_reset_password_refuses_a_short_one(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    response = admin.post(f"/admin/users/{user_id}/password", data={"password": "short"})
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert can_sign_in(app, "ayse")


# Deactivating and reactivating


def test_deactivate_and_reactivate(app: Flask, admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    browser = other_browser(app, "ayse")
    response = admin.post(f"/admin/users/{user_id}/deactivate")
    assert response.status_code == 303 and response.location == "/admin/users"
    assert not row(app, "ayse").active
    assert not signed_in(browser)
    assert not can_sign_in(app, "ayse")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Deactivated ayse." in page and f"/admin/users/{user_id}/reactivate" in page
    assert admin.post(f"/admin/users/{user_id}/reactivate").status_code == 303
    assert row(app, "ayse").active
    assert not signed_in(browser)
    assert can_sign_in(app, "ayse")


def test_deactivate_with_htmx(admin: FlaskClient, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    response = admin.post(f"/admin/users/{user_id}/deactivate", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"


def test_an_admin_cannot_deactivate_themselves(app: Flask, admin: FlaskClient, admin_id: int) -> None:
    response = admin.post(f"/admin/users/{admin_id}/deactivate")
    assert response.status_code == 409
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert row(app, "root").active
    assert signed_in(admin)


def test_own_row_offers_no_self_demotion_or_deactivation(admin: FlaskClient, admin_id: int) -> None:
    html = admin.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{admin_id}/deactivate" not in html
    assert f"/admin/users/{admin_id}/role" not in html


@pytest.mark.parametrize("action", ["role", "password", "deactivate", "reactivate"])
def test_unknown_ids_are_404(admin: FlaskClient, action: str) -> None:
    data = {"role": "mentor", "password": NEW_PASSWORD}
    assert admin.post(f"/admin/users/9999/{action}", data=data).status_code == 404
    assert admin.post(f"/admin/users/9999/{action}", data={"role": "nonsense"}).status_code == 404
    assert admin.post(f"/admin/users/abc/{action}", data=data).status_code == 404


# Importing a team


GOOD_CSV = """username,display_name,role,password
ayse,Ayşe Yılmaz,trainee,first password 1
Bora,Bora Demir,mentor,second password
cem,,,third password!!
"""

BAD_CSV = """username,display_name,role,password
ayse,Ayşe Yılmaz,trainee,first password 1
root,Someone,trainee,taken password
bora,Bora,overlord,fine password
cem,Cem,trainee,short
AYSE,Ayşe again,trainee,first password 2
deniz,Deniz

x!,Bad Name,trainee,fine password
"""


def post_import(client: FlaskClient, text: str, action: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post("/admin/users/import", data={"csv_text": text, "action": action, **extra})


def test_import_page_renders(admin: FlaskClient, rendered: list[str]) -> None:
    response = admin.get("/admin/users/import")
    assert response.status_code == 200
    assert rendered[0] == "admin/import.html"
    html = response.get_data(as_text=True)
    assert 'value="dry-run"' in html and 'enctype="multipart/form-data"' in html


def test_dry_run_of_a_good_file_creates_nothing(app: Flask, admin: FlaskClient) -> None:
    response = post_import(admin, GOOD_CSV, "dry-run")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Every line is fine: 3 accounts are ready to import." in html
    for name in ("ayse", "bora", "cem"):
        assert f"<li>{name}</li>" in html
    assert usernames(app) == {"root"}


def test_dry_run_lists_every_bad_line_and_creates_nothing(app: Flask, admin: FlaskClient) -> None:
    response = post_import(admin, BAD_CSV, "dry-run")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    expected = [
        ("Line 3:", "The username root is taken."),
        ("Line 4:", "Unknown role overlord"),
        ("Line 5:", "at least 10 characters"),
        ("Line 6:", "Duplicate: ayse is already on line 2."),
        ("Line 7:", "Missing column(s): role, password."),
        ("Line 9:", "3 to 64 characters"),
    ]
    items = [item for item in html.split("<li") if "Line " in item]
    assert len(items) == len(expected)
    for item, (line, message) in zip(items, expected, strict=True):
        assert line in item and message in item
    assert "6 problems: nothing was created." in html
    assert usernames(app) == {"root"}


def test_import_with_any_bad_line_creates_nothing(app: Flask, admin: FlaskClient) -> None:
    response = post_import(admin, BAD_CSV, "import")
    assert response.status_code == 400
    assert "nothing was created" in response.get_data(as_text=True)
    assert usernames(app) == {"root"}


def test_import_creates_every_account(app: Flask, admin: FlaskClient) -> None:
    response = post_import(admin, GOOD_CSV, "import")
    assert response.status_code == 303 and response.location == "/admin/users"
    assert usernames(app) == {"root", "ayse", "bora", "cem"}
    assert (row(app, "bora").role, row(app, "bora").display_name) == ("mentor", "Bora Demir")
    assert (row(app, "cem").role, row(app, "cem").display_name) == ("trainee", "cem")
    assert can_sign_in(app, "ayse", "first password 1")
    assert "Imported 3 accounts." in admin.get("/admin/users").get_data(as_text=True)


def test_import_with_htmx(admin: FlaskClient) -> None:
    response = admin.post("/admin/users/import", headers=HX, data={"csv_text": GOOD_CSV, "action": "import"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"


def test_import_from_an_uploaded_file_with_bom_and_crlf(app: Flask, admin: FlaskClient) -> None:
    data = ("\ufeff" + GOOD_CSV.replace("\n", "\r\n")).encode("utf-8")
    response = admin.post("/admin/users/import", content_type="multipart/form-data",
                          data={"action": "import", "csv_file": (BytesIO(data), "team.csv")})
    assert response.status_code == 303
    assert usernames(app) == {"root", "ayse", "bora", "cem"}


def test_import_refuses_a_file_that_is_not_utf8(app: Flask, admin: FlaskClient) -> None:
    data = "username,password\nçağrı,some password\n".encode("cp1254")
    response = admin.post("/admin/users/import", content_type="multipart/form-data",
                          data={"action": "import", "csv_file": (BytesIO(data), "team.csv")})
    assert response.status_code == 400
    assert "not UTF-8" in response.get_data(as_text=True)
    assert usernames(app) == {"root"}


@pytest.mark.parametrize("text, message", [
    ("ayse,Ayşe,trainee,first password 1\n", "Unknown column(s) ayse, ayşe, trainee, first password 1"),
    ("username,display_name,role\nayse,Ayşe,trainee\n", "Missing column(s): password."),
    ("username,password,password\nayse,a,b\n", "Column(s) named twice: password."),
    ("username,password\n", "There are no accounts below the header line."),
    ('username,password\n"ayse,first password\n', "not valid CSV"),
    ("username,password\nayse,first password 1,extra\n", "1 more field(s) than the header"),
])
def test_import_explains_a_bad_file(app: Flask, admin: FlaskClient, text: str, message: str) -> None:
    response = post_import(admin, text, "dry-run")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert usernames(app) == {"root"}


def test_import_counts_lines_of_multi_line_fields(admin: FlaskClient) -> None:
    text = 'username,display_name,password\nayse,"Ayşe\nYılmaz",first password 1\nb,Bad,fine password\n'
    html = post_import(admin, text, "dry-run").get_data(as_text=True)
    assert "Line 4:" in html and "3 to 64 characters" in html


def test_import_with_nothing_to_import(admin: FlaskClient) -> None:
    response = post_import(admin, "   ", "dry-run")
    assert response.status_code == 400
    assert "Choose a CSV file or paste its lines." in response.get_data(as_text=True)


def test_import_with_only_the_required_columns(app: Flask, admin: FlaskClient) -> None:
    assert post_import(admin, "password,username\nlong password,ayse\n", "import").status_code == 303
    assert row(app, "ayse").role == "trainee"


# CSRF


@pytest.fixture
def csrf_on(app_config: dict[str, object]) -> None:
    """Turn CSRF protection on, as in production (before the app is built)."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def csrf_admin(make_user: Callable[..., int], client: FlaskClient) -> FlaskClient:
    """An admin signed in through the form (use with `csrf_on`)."""
    make_user("root", "admin")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "root", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    return client


@pytest.mark.usefixtures("csrf_on")
def test_admin_posts_without_csrf_token_change_nothing(app: Flask, csrf_admin: FlaskClient,
                                                       make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    before = row(app, "ayse")
    attempts = [
        ("/admin/users", {"username": "sneaky", "role": "admin", "password": NEW_PASSWORD}),
        (f"/admin/users/{user_id}/role", {"role": "admin"}),
        (f"/admin/users/{user_id}/password", {"password": NEW_PASSWORD}),
        (f"/admin/users/{user_id}/deactivate", {}),
        ("/admin/users/import", {"csv_text": "username,password\nsneaky2,long password\n", "action": "import"}),
    ]
    for path, data in attempts:
        assert csrf_admin.post(path, data=data).status_code == 400, path
    after = row(app, "ayse")
    assert (after.role, after.active, after.password_hash, after.session_token) == (
        before.role, before.active, before.password_hash, before.session_token)
    assert usernames(app) == {"root", "ayse"}


@pytest.mark.usefixtures("csrf_on")
def test_admin_posts_with_the_csrf_token_work(app: Flask, csrf_admin: FlaskClient,
                                              make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    token = csrf_token_from(csrf_admin.get("/admin/users").get_data(as_text=True))
    response = csrf_admin.post(f"/admin/users/{user_id}/role", data={"role": "mentor", "csrf_token": token})
    assert response.status_code == 303
    response = csrf_admin.post(f"/admin/users/{user_id}/deactivate", headers={"X-CSRFToken": token, **HX})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"
    assert row(app, "ayse").role == "mentor" and not row(app, "ayse").active
