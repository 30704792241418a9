"""Sign-in, throttling, safe redirects, session revocation, password change, first-run setup and CSRF."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from app import accounts, login_throttle
from app.extensions import db
from app.models import AppSetting, LoginThrottle, User
from app.web.auth import safe_next
from tests.web.conftest import PASSWORD, csrf_token_from

WRONG = "wrong password, clearly"
HX = {"HX-Request": "true"}
REMEMBER = "remember_token"


class Clock:
    """A settable clock standing in for accounts.now()."""

    def __init__(self) -> None:
        self.moment = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the accounts clock; tests move it on by hand."""
    fake = Clock()
    monkeypatch.setattr(accounts, "now", fake)
    return fake


@pytest.fixture
def home(app: Flask) -> str:
    """Where a sign-in lands without a `next`: the library."""
    with app.test_request_context():
        return url_for("play.catalogue")


def user_row(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None
        db.session.expunge(user)
        return user


def post_login(client: FlaskClient, username: str, password: str, **kwargs) -> object:  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": username, "password": password, **kwargs.pop("data", {})},
                       **kwargs)


def steal(source: FlaskClient, target: FlaskClient, *names: str) -> None:
    """Copy cookies from one browser to another, as a thief would."""
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        target.set_cookie(name, cookie.value)


def signed_in(client: FlaskClient) -> bool:
    """True when the client's cookies still open a login-only page."""
    return client.get("/password").status_code == 200


# Passwords


def test_passwords_are_hashed_with_owasp_argon2id_parameters() -> None:
    hashed = accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.verify_password(hashed, PASSWORD)
    assert not accounts.verify_password(hashed, PASSWORD + "!")
    assert not accounts.verify_password("not a hash", PASSWORD)


def test_the_stored_hash_is_never_the_password(app: Flask, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    assert PASSWORD not in user_row(app, "ayse").password_hash


def test_an_old_weaker_hash_is_upgraded_at_sign_in(app: Flask, client: FlaskClient,
                                                   make_user: Callable[..., int]) -> None:
    from argon2 import PasswordHasher

    user_id = make_user("ayse")
    with app.app_context():
        db.session.get(User, user_id).password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
        db.session.commit()
    assert post_login(client, "ayse", PASSWORD).status_code == 303
    assert user_row(app, "ayse").password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize("username, password, message", [
    ("ab", PASSWORD, "3 to 64 characters"),
    ("x" * 65, PASSWORD, "3 to 64 characters"),
    ("ayşe", PASSWORD, "3 to 64 characters"),
    ("a b c", PASSWORD, "3 to 64 characters"),
    ("ayse", "short", "at least 10 characters"),
])
def test_create_user_refuses_bad_input_readably(app: Flask, username: str, password: str, message: str) -> None:
    with app.app_context(), pytest.raises(accounts.AccountError, match=message):
        accounts.create_user(username, password)


def test_usernames_are_stored_lower_case_and_unique(app: Flask, make_user: Callable[..., int]) -> None:
    make_user("Ayse.Y-1_")
    assert user_row(app, "ayse.y-1_").display_name == "ayse.y-1_"
    with app.app_context(), pytest.raises(accounts.NameTaken, match="taken"):
        accounts.create_user("AYSE.Y-1_", PASSWORD)
    with app.app_context(), pytest.raises(accounts.AccountError, match="Unknown role"):
        accounts.create_user("other", PASSWORD, role="boss")


# Signing in


def test_login_page_renders_the_form(client: FlaskClient, make_user: Callable[..., int],
                                     rendered: list[str]) -> None:
    make_user("ayse")
    response = client.get("/login")
    assert response.status_code == 200
    assert rendered[0] == "auth/login.html"
    html = response.get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html and 'name="remember"' in html
    assert 'name="csrf_token"' in html


def test_login_success_goes_to_the_library(client: FlaskClient, make_user: Callable[..., int], home: str) -> None:
    make_user("ayse")
    response = post_login(client, "AYSE ", PASSWORD)
    assert response.status_code == 303
    assert response.location == home
    assert signed_in(client)


def test_login_success_with_htmx_answers_hx_redirect(client: FlaskClient, make_user: Callable[..., int],
                                                     home: str) -> None:
    make_user("ayse")
    response = post_login(client, "ayse", PASSWORD, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == home


def test_unknown_user_and_wrong_password_look_the_same(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    wrong = post_login(client, "ayse", WRONG)
    unknown = post_login(client, "nobody", WRONG)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "Wrong username or password." in response.get_data(as_text=True)
    assert not signed_in(client)


def test_unknown_user_still_costs_a_password_check(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    with app.test_request_context():
        assert accounts.authenticate("nobody", WRONG, "10.0.0.1") is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_a_deactivated_account_cannot_sign_in(app: Flask, client: FlaskClient,
                                              make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    with app.app_context():
        accounts.set_active(user_id, False)
    response = post_login(client, "ayse", PASSWORD)
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_signed_in_user_visiting_login_is_sent_on(trainee: FlaskClient) -> None:
    response = trainee.get("/login?next=/play/attempts")
    assert response.status_code == 303
    assert response.location == "/play/attempts"


def test_login_required_pages_send_to_login_with_next(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    response = client.get("/password")
    assert response.status_code == 303
    assert response.location == "/login?next=/password"
    htmx = client.get("/password", headers=HX)
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"] == "/login?next=/password"


# Throttling


def test_account_locks_after_the_limit_even_for_the_right_password(client: FlaskClient, clock: Clock,
                                                                   make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(5):
        assert post_login(client, "ayse", WRONG).status_code == 401
    response = post_login(client, "ayse", PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts, try again in 5 minutes." in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "300"
    assert not signed_in(client)


def test_the_lock_is_per_account(client: FlaskClient, clock: Clock, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    make_user("bora")
    for _ in range(6):
        post_login(client, "ayse", WRONG)
    assert post_login(client, "bora", PASSWORD).status_code == 303


def test_the_lock_holds_from_another_address(client: FlaskClient, clock: Clock,
                                             make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for number in range(5):
        post_login(client, "ayse", WRONG, environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
    response = post_login(client, "ayse", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 429


def test_lock_expires_after_the_lock_time(client: FlaskClient, clock: Clock, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(5):
        post_login(client, "ayse", WRONG)
    clock.advance(120)
    response = post_login(client, "ayse", PASSWORD)
    assert response.status_code == 429
    assert "try again in 3 minutes" in response.get_data(as_text=True)
    clock.advance(181)
    assert post_login(client, "ayse", PASSWORD).status_code == 303


def test_failures_outside_the_window_are_forgotten(client: FlaskClient, clock: Clock,
                                                   make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(4):
        post_login(client, "ayse", WRONG)
    clock.advance(301)
    for _ in range(4):
        assert post_login(client, "ayse", WRONG).status_code == 401
    assert post_login(client, "ayse", PASSWORD).status_code == 303


def test_a_success_clears_the_account_count(client: FlaskClient, clock: Clock,
                                            make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(4):
        post_login(client, "ayse", WRONG)
    assert post_login(client, "ayse", PASSWORD).status_code == 303
    client.post("/logout")
    for _ in range(4):
        assert post_login(client, "ayse", WRONG).status_code == 401
    assert post_login(client, "ayse", PASSWORD).status_code == 303


@pytest.fixture
def strict_client_limit(app_config: dict[str, object]) -> None:
    """Three failures per client address, ten per account."""
    app_config.update(LOGIN_FAILURES_PER_CLIENT=3, LOGIN_FAILURES_PER_ACCOUNT=10)


@pytest.mark.usefixtures("strict_client_limit")
def test_a_client_guessing_across_accounts_is_locked(client: FlaskClient, clock: Clock,
                                                     make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for name in ("nobody", "someone", "ayse"):
        assert post_login(client, name, WRONG).status_code == 401
    response = post_login(client, "ayse", PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    other = post_login(client, "ayse", PASSWORD, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 303


@pytest.mark.usefixtures("strict_client_limit")
def test_successful_sign_ins_do_not_use_up_the_client_allowance(client: FlaskClient, clock: Clock,
                                                                make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(5):
        assert post_login(client, "ayse", PASSWORD).status_code == 303
        client.post("/logout")
    assert post_login(client, "ayse", WRONG).status_code == 401


def test_throttled_answer_reaches_htmx_requests_too(client: FlaskClient, clock: Clock,
                                                    make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for _ in range(5):
        post_login(client, "ayse", WRONG)
    response = post_login(client, "ayse", PASSWORD, headers=HX)
    assert response.status_code == 429
    assert "HX-Redirect" not in response.headers


def test_unknown_accounts_are_throttled_like_known_ones(client: FlaskClient, clock: Clock) -> None:
    for _ in range(5):
        assert post_login(client, "ghost", WRONG).status_code == 401
    assert post_login(client, "ghost", WRONG).status_code == 429


def test_attempts_in_flight_each_take_a_slot(app: Flask, clock: Clock) -> None:
    """Parallel requests reserve before checking, so a burst cannot exceed the limit."""
    limits = [("user:ayse", 3)]
    with app.app_context():
        for _ in range(3):
            login_throttle.reserve(limits, clock(), 300)
        with pytest.raises(login_throttle.Throttled) as caught:
            login_throttle.reserve(limits, clock(), 300)
        assert caught.value.minutes == 5
        row = db.session.get(LoginThrottle, "user:ayse")
        assert row is not None and row.locked_until is not None


def in_parallel(app: Flask, count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in `count` threads at once, each in its own request context; results or exceptions."""
    barrier = threading.Barrier(count)

    def run(number: int) -> object:
        with app.test_request_context():
            barrier.wait()
            try:
                return work(number)
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_a_parallel_burst_gets_no_more_guesses_than_the_limit(app: Flask, clock: Clock,
                                                              make_user: Callable[..., int]) -> None:
    make_user("ayse")
    results = in_parallel(app, 12, lambda n: accounts.authenticate("ayse", WRONG, f"10.0.0.{n}"))
    assert results.count(None) == 5
    assert sum(isinstance(result, accounts.Throttled) for result in results) == 7


def test_parallel_setup_claims_make_one_admin(app: Flask) -> None:
    with app.app_context():
        token = accounts.announce_setup_token() or ""
    results = in_parallel(app, 4, lambda n: accounts.claim_setup(token, f"admin{n}", None, PASSWORD).username)
    assert sum(isinstance(result, str) for result in results) == 1
    assert all(isinstance(result, (str, accounts.SetupClosed)) for result in results), results
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_expired_throttle_rows_are_pruned(app: Flask, client: FlaskClient, clock: Clock) -> None:
    post_login(client, "ghost", WRONG)
    clock.advance(301)
    post_login(client, "other", WRONG)
    with app.app_context():
        keys = set(db.session.scalars(select(LoginThrottle.key)))
    assert "user:ghost" not in keys and "user:other" in keys


# `next` stays on this site


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com", "javascript:alert(1)", "http:/evil.com",
    "/\t/evil.com", "/%0a/evil.com\n", "evil.com", "///evil.com", "/library//evil.com", "",
])
def test_next_never_leaves_the_site(client: FlaskClient, make_user: Callable[..., int], target: str,
                                    home: str) -> None:
    make_user("ayse")
    response = client.post("/login", data={"username": "ayse", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.location == home


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)"])
def test_next_in_the_query_string_is_dropped_too(client: FlaskClient, make_user: Callable[..., int],
                                                 target: str, home: str) -> None:
    make_user("ayse")
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' not in page
    response = client.post("/login", query_string={"next": target},
                           data={"username": "ayse", "password": PASSWORD})
    assert response.location == home


def test_a_local_next_is_honoured(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    page = client.get("/login?next=/play/attempts%3Fpage%3D2").get_data(as_text=True)
    assert 'name="next" value="/play/attempts?page=2"' in page
    response = post_login(client, "ayse", PASSWORD, data={"next": "/play/attempts?page=2"})
    assert response.location == "/play/attempts?page=2"


def test_safe_next_rules() -> None:
    assert safe_next("/library") == "/library"
    assert safe_next("/a?b=c#d") == "/a?b=c#d"
    for bad in (None, "", "library", "//x", "/\\x", "https://x/", "/x\r\nSet-Cookie:a=b", "/\x7f"):
        assert safe_next(bad) is None


# Signing out and revocation


@pytest.fixture
def remembered(client: FlaskClient, make_user: Callable[..., int]) -> FlaskClient:
    """Ayşe signed in with "keep me signed in" ticked."""
    make_user("ayse")
    response = post_login(client, "ayse", PASSWORD, data={"remember": "on"})
    assert response.status_code == 303
    assert client.get_cookie(REMEMBER) is not None
    return client


def test_remember_me_cookie_alone_signs_in(app: Flask, remembered: FlaskClient) -> None:
    thief = app.test_client()
    steal(remembered, thief, REMEMBER)
    assert signed_in(thief)


def test_logout_revokes_copied_session_and_remember_cookies(app: Flask, remembered: FlaskClient) -> None:
    session_thief, remember_thief = app.test_client(), app.test_client()
    steal(remembered, session_thief, "session")
    steal(remembered, remember_thief, REMEMBER)
    assert signed_in(session_thief) and signed_in(remember_thief)
    response = remembered.post("/logout")
    assert response.status_code == 303 and response.location == "/login"
    assert not signed_in(remembered)
    assert not signed_in(session_thief)
    assert not signed_in(remember_thief)


def test_logout_with_htmx(trainee: FlaskClient) -> None:
    response = trainee.post("/logout", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/login"
    assert not signed_in(trainee)


def test_logout_when_signed_out_just_goes_to_login(client: FlaskClient) -> None:
    response = client.post("/logout")
    assert response.status_code == 303 and response.location == "/login"


def test_logout_needs_post(trainee: FlaskClient) -> None:
    assert trainee.get("/logout").status_code == 405
    assert signed_in(trainee)


def test_password_change_revokes_other_sessions_but_keeps_this_one(app: Flask, remembered: FlaskClient) -> None:
    session_thief, remember_thief = app.test_client(), app.test_client()
    steal(remembered, session_thief, "session")
    steal(remembered, remember_thief, REMEMBER)
    new = "a brand new passphrase"
    response = remembered.post("/password", data={"old_password": PASSWORD, "new_password": new,
                                                  "new_password_again": new})
    assert response.status_code == 303
    assert signed_in(remembered)
    assert not signed_in(session_thief)
    assert not signed_in(remember_thief)
    fresh = app.test_client()
    assert post_login(fresh, "ayse", PASSWORD).status_code == 401
    assert post_login(fresh, "ayse", new).status_code == 303
    # The browser that changed it keeps a working remember-me cookie.
    keeper = app.test_client()
    steal(remembered, keeper, REMEMBER)
    assert signed_in(keeper)


def test_deactivation_revokes_sessions_and_remember_cookies(app: Flask, remembered: FlaskClient) -> None:
    thief = app.test_client()
    steal(remembered, thief, REMEMBER)
    with app.app_context():
        accounts.set_active(user_row(app, "ayse").id, False)
    assert not signed_in(remembered)
    assert not signed_in(thief)
    with app.app_context():
        accounts.set_active(user_row(app, "ayse").id, True)
    # Reactivating does not bring the old cookies back.
    assert not signed_in(thief)


# Changing one's own password


def test_password_page_renders(trainee: FlaskClient, rendered: list[str]) -> None:
    response = trainee.get("/password")
    assert response.status_code == 200
    assert rendered[0] == "auth/password.html"


@pytest.mark.parametrize("form, message", [
    ({"old_password": WRONG, "new_password": "0123456789", "new_password_again": "0123456789"},
     "The current password is wrong."),
    ({"old_password": PASSWORD, "new_password": "0123456789", "new_password_again": "0123456788"},
     "The two new passwords differ."),
    ({"old_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
     "at least 10 characters"),
    ({}, "at least 10 characters"),
])
def test_password_change_refuses_readably(app: Flask, trainee: FlaskClient, form: dict[str, str],
                                          message: str) -> None:
    before = user_row(app, "ayse").password_hash
    response = trainee.post("/password", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert user_row(app, "ayse").password_hash == before
    assert signed_in(trainee)


def test_guessing_the_old_password_is_throttled(trainee: FlaskClient, clock: Clock) -> None:
    form = {"old_password": WRONG, "new_password": "0123456789", "new_password_again": "0123456789"}
    for _ in range(5):
        assert trainee.post("/password", data=form).status_code == 400
    response = trainee.post("/password", data=form | {"old_password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_password_change_with_htmx(trainee: FlaskClient, home: str) -> None:
    new = "another good passphrase"
    response = trainee.post("/password", headers=HX, data={"old_password": PASSWORD, "new_password": new,
                                                           "new_password_again": new})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == home


# First-run setup


def setup_token(app: Flask) -> str | None:
    with app.app_context():
        return db.session.scalar(select(AppSetting.value).where(AppSetting.key == "setup_token"))


def admin_form(token: str, **changes: str) -> dict[str, str]:
    return {"token": token, "username": "Root", "display_name": "Site Admin", "password": PASSWORD,
            "password_again": PASSWORD} | changes


def test_start_logs_a_setup_token_that_every_worker_agrees_on(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), app.app_context():
        first = accounts.announce_setup_token()
        second = accounts.announce_setup_token()
    assert first and first == second == setup_token(app)
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(messages) == 2
    assert all("/setup" in message and first in message for message in messages)


def test_create_app_announces_the_token_at_start(app: Flask, app_config: dict[str, object],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from app import create_app

    with caplog.at_level(logging.WARNING):
        create_app(app_config | {"SYNC_ON_START": True})
    token = setup_token(app)
    assert token and any(token in record.getMessage() and "/setup" in record.getMessage()
                         for record in caplog.records)


def test_no_token_once_accounts_exist(app: Flask, make_user: Callable[..., int],
                                      caplog: pytest.LogCaptureFixture) -> None:
    with app.app_context():
        accounts.announce_setup_token()
    make_user("ayse")
    caplog.clear()
    with caplog.at_level(logging.WARNING), app.app_context():
        assert accounts.announce_setup_token() is None
    assert setup_token(app) is None
    assert not caplog.records


def test_empty_database_sends_visitors_to_setup(client: FlaskClient, home: str) -> None:
    response = client.get("/login")
    assert response.status_code == 303 and response.location == "/setup"
    assert client.get(home).status_code in (302, 303)


def test_setup_page_makes_and_logs_a_token_when_start_did_not(app: Flask, client: FlaskClient,
                                                              rendered: list[str],
                                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.get("/setup")
    assert response.status_code == 200
    assert rendered[0] == "auth/setup.html"
    token = setup_token(app)
    assert token and token not in response.get_data(as_text=True)
    assert any(token in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("token", ["", "wrong-token", "ünïcode tökén"])
def test_setup_refuses_a_missing_or_wrong_token(app: Flask, client: FlaskClient, token: str) -> None:
    with app.app_context():
        accounts.announce_setup_token()
    response = client.post("/setup", data=admin_form(token))
    assert response.status_code == 403
    assert "The setup token is wrong." in response.get_data(as_text=True)
    with app.app_context():
        assert accounts.setup_needed()
    assert setup_token(app)


def test_setup_refuses_when_no_token_was_ever_made(app: Flask, client: FlaskClient) -> None:
    response = client.post("/setup", data=admin_form(""))
    assert response.status_code == 403
    with app.app_context():
        assert accounts.setup_needed()


@pytest.mark.parametrize("changes, message", [
    ({"username": "x"}, "3 to 64 characters"),
    ({"password": "short", "password_again": "short"}, "at least 10 characters"),
    ({"password_again": "something else"}, "The two passwords differ."),
])
def test_setup_refuses_bad_input_and_keeps_the_token(app: Flask, client: FlaskClient,
                                                     changes: dict[str, str], message: str) -> None:
    with app.app_context():
        token = accounts.announce_setup_token() or ""
    response = client.post("/setup", data=admin_form(token, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert setup_token(app) == token


def test_setup_with_the_right_token_creates_the_admin_once(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        token = accounts.announce_setup_token() or ""
    response = client.post("/setup", data=admin_form(token))
    assert response.status_code == 303 and response.location == "/admin/users"
    admin = user_row(app, "root")
    assert admin.role == "admin" and admin.display_name == "Site Admin"
    assert setup_token(app) is None
    assert client.get("/admin/users").status_code == 200
    stranger = app.test_client()
    assert stranger.get("/setup").status_code == 404
    assert stranger.post("/setup", data=admin_form(token, username="intruder")).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "intruder")) is None
        with pytest.raises(accounts.SetupClosed):
            accounts.claim_setup(token, "intruder", None, PASSWORD)


def test_setup_with_htmx(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        token = accounts.announce_setup_token() or ""
    response = client.post("/setup", data=admin_form(token), headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/users"


def test_setup_is_gone_once_any_account_exists(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    assert client.get("/setup").status_code == 404


# CSRF


@pytest.fixture
def csrf_on(app_config: dict[str, object]) -> None:
    """Turn CSRF protection on, as in production."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.mark.usefixtures("csrf_on")
def test_login_without_csrf_token_is_refused(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    response = post_login(client, "ayse", PASSWORD)
    assert response.status_code == 400
    assert not signed_in(client)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": token}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_logout_and_password_change_without_csrf_token_change_nothing(app: Flask, client: FlaskClient,
                                                                       make_user: Callable[..., int]) -> None:
    make_user("ayse")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    post_login(client, "ayse", PASSWORD, data={"csrf_token": token})
    before = user_row(app, "ayse")
    assert client.post("/logout").status_code == 400
    new = "a brand new passphrase"
    form = {"old_password": PASSWORD, "new_password": new, "new_password_again": new}
    assert client.post("/password", data=form).status_code == 400
    after = user_row(app, "ayse")
    assert (after.session_token, after.password_hash) == (before.session_token, before.password_hash)
    assert signed_in(client)
    token = csrf_token_from(client.get("/password").get_data(as_text=True))
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_a_checked_post_answers_with_the_token_it_sent(client: FlaskClient, make_user: Callable[..., int],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("ayse")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    later = time.time() + 30  # a token signed now would carry a different timestamp
    monkeypatch.setattr(time, "time", lambda: later)
    wrong = post_login(client, "ayse", "not the password", data={"csrf_token": token})
    assert wrong.status_code == 401
    assert csrf_token_from(wrong.get_data(as_text=True)) == token
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": forged}).status_code == 400
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": token}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_pages_reuse_the_sessions_signed_token_and_only_their_own(app: Flask, client: FlaskClient,
                                                                   make_user: Callable[..., int],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("ayse")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    later = time.time() + 30  # a token signed now would carry a different timestamp
    monkeypatch.setattr(time, "time", lambda: later)
    assert csrf_token_from(client.get("/login").get_data(as_text=True)) == token
    stranger = app.test_client()
    theirs = csrf_token_from(stranger.get("/login").get_data(as_text=True))
    assert theirs != token
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": theirs}).status_code == 400
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": token}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_a_token_checked_before_still_belongs_to_its_own_session_only(app: Flask, client: FlaskClient,
                                                                       make_user: Callable[..., int]) -> None:
    make_user("ayse")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    stranger = app.test_client()
    theirs = csrf_token_from(stranger.get("/login").get_data(as_text=True))
    for _ in range(2):  # the second time, each signature is one this worker has verified already
        assert post_login(stranger, "ayse", "not the password", data={"csrf_token": theirs}).status_code == 401
        assert post_login(client, "ayse", "not the password", data={"csrf_token": theirs}).status_code == 400
        assert post_login(client, "ayse", "not the password", data={"csrf_token": token}).status_code == 401
    assert post_login(client, "ayse", PASSWORD, headers={"X-CSRFToken": token}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_a_token_checked_before_is_refused_once_the_signing_key_changes(app: Flask, client: FlaskClient,
                                                                         make_user: Callable[..., int]) -> None:
    make_user("ayse")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert post_login(client, "ayse", "not the password", data={"csrf_token": token}).status_code == 401
    app.config["WTF_CSRF_SECRET_KEY"] = "a new key for CSRF tokens only"
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": token}).status_code == 400
    fresh = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert fresh != token
    assert post_login(client, "ayse", PASSWORD, data={"csrf_token": fresh}).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_an_https_post_needs_a_referrer_from_this_site(client: FlaskClient, make_user: Callable[..., int]) -> None:
    make_user("ayse")
    https = {"base_url": "https://localhost"}
    token = csrf_token_from(client.get("/login", **https).get_data(as_text=True))
    form = {"csrf_token": token}
    assert post_login(client, "ayse", PASSWORD, data=form, **https).status_code == 400
    assert post_login(client, "ayse", PASSWORD, data=form, headers={"Referer": "https://elsewhere.example/login"},
                      **https).status_code == 400
    assert not signed_in(client)
    assert post_login(client, "ayse", PASSWORD, data=form, headers={"Referer": "https://localhost/login"},
                      **https).status_code == 303


@pytest.mark.usefixtures("csrf_on")
def test_expiring_tokens_are_signed_afresh_for_every_page(app: Flask, client: FlaskClient, make_user: Callable[..., int],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("ayse")
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    later = time.time() + 30
    monkeypatch.setattr(time, "time", lambda: later)
    assert csrf_token_from(client.get("/login").get_data(as_text=True)) != token


@pytest.mark.usefixtures("csrf_on")
def test_setup_without_csrf_token_creates_nothing(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        token = accounts.announce_setup_token() or ""
    assert client.post("/setup", data=admin_form(token)).status_code == 400
    with app.app_context():
        assert accounts.setup_needed()


# Other languages


def test_pages_render_in_every_configured_language(app: Flask, client: FlaskClient,
                                                   make_user: Callable[..., int]) -> None:
    make_user("ayse")
    for language in app.config["LANGUAGES"]:
        assert client.get("/login", headers={"Accept-Language": language}).status_code == 200


def test_a_lock_in_force_outlives_the_failure_window(client: FlaskClient, clock: Clock,
                                                     make_user: Callable[..., int]) -> None:
    # Failures spread so the lock starts near the end of the counting window: the window running out
    # must not lift the lock early.
    make_user("ayse")
    for delay in (0, 1, 1, 1, 296):
        clock.advance(delay)
        post_login(client, "ayse", WRONG)
    clock.advance(2)  # the window that began at the first failure is over; the lock is 2 s old
    assert post_login(client, "ayse", PASSWORD).status_code == 429
    clock.advance(299)
    assert post_login(client, "ayse", PASSWORD).status_code == 303
