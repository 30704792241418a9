"""Hardening that holds for every page: headers, secret key, size limits, error pages, proxies, ledger totals."""

from __future__ import annotations

import stat
from pathlib import Path

from flask import abort
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import User
from app.points import ledger_total
from app.settings import instance_secret_key


def test_every_response_carries_the_security_headers(client):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(trainee):
    for path in ("/library", "/attempts", "/password"):
        page = trainee.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page and "hx-on" not in page


def test_secret_key_is_generated_once_owner_only_and_reused(tmp_path: Path):
    first = instance_secret_key(tmp_path)
    second = instance_secret_key(tmp_path)
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_environment_secret_key_wins(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "AUTO_MIGRATE": False, "SYNC_ON_START": False})
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_oversized_request_is_refused_with_413(trainee, app):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = trainee.post("/attempts/1/act", data={"step": "1", "reply": big})
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


def test_unexpected_error_shows_a_generic_page(app_config):
    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/teapot-for-test")
    def teapot():
        abort(418)

    client = app.test_client()
    response = client.get("/boom-for-test")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    assert "Internal Server Error" in body
    assert client.get("/teapot-for-test").status_code == 418


def test_trusted_proxy_decides_the_client_address(app_config, tmp_path: Path):
    seen: list[str] = []
    app = create_app({**app_config, "TRUSTED_PROXIES": 1})

    @app.get("/address-for-test")
    def address():
        from flask import request
        seen.append(request.remote_addr or "")
        return "ok"

    client = app.test_client()
    client.get("/address-for-test", headers={"X-Forwarded-For": "203.0.113.7"},
               environ_base={"REMOTE_ADDR": "10.0.0.2"})
    untrusted = create_app(app_config)
    untrusted.add_url_rule("/address-for-test", view_func=address)
    untrusted.test_client().get("/address-for-test", headers={"X-Forwarded-For": "203.0.113.7"},
                                environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == ["203.0.113.7", "10.0.0.2"]


def test_cached_totals_equal_the_ledger_after_play(app, trainee):
    for reply in ("Sorry about that, we are looking into it now.",
                  "I will send a replacement today and I can refund the shipping."):
        started = trainee.post("/library/late-delivery/start")
        attempt_id = started.headers["Location"].rsplit("/", 1)[1]
        trainee.post(f"/attempts/{attempt_id}/act", data={"step": "1", "choice": "acknowledge"})
        trainee.post(f"/attempts/{attempt_id}/act", data={"step": "2", "reply": reply})
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ayse"))
        assert user.points_total == ledger_total(user.id) == 20
    assert "20 points" in trainee.get("/library").get_data(as_text=True)


def test_nul_characters_are_a_400_not_a_database_error(client, trainee):
    anonymous = client.application.test_client()
    assert anonymous.post("/login", data={"username": "a\x00b", "password": "x"}).status_code == 400
    assert trainee.post("/library/a%00b/start").status_code in (400, 404)
    started = trainee.post("/library/late-delivery/start")
    attempt_id = started.headers["Location"].rsplit("/", 1)[1]
    trainee.post(f"/attempts/{attempt_id}/act", data={"step": "1", "choice": "acknowledge"})
    response = trainee.post(f"/attempts/{attempt_id}/act", data={"step": "2", "reply": "I will fix\x00 it today now"})
    assert response.status_code == 400


def test_ids_beyond_the_database_range_are_404(trainee):
    huge = "9" * 25
    assert trainee.get(f"/attempts/{huge}").status_code == 404
    assert trainee.post(f"/attempts/{huge}/act", data={"step": "1", "choice": "x"}).status_code == 404
    assert trainee.post(f"/attempts/{2**31}/restart").status_code == 404


def test_a_form_sent_after_the_session_ended_signs_in_to_the_library(client):
    response = client.post("/attempts/1/act", data={"step": "1", "choice": "x"})
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith("/login")


def test_a_new_sqlite_database_file_is_owner_only(app_config, tmp_path: Path):
    path = tmp_path / "private.sqlite3"
    create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_points_rebuild_restores_totals_from_the_ledger(app, trainee):
    from sqlalchemy import update

    started = trainee.post("/library/late-delivery/start")
    attempt_id = started.headers["Location"].rsplit("/", 1)[1]
    trainee.post(f"/attempts/{attempt_id}/act", data={"step": "1", "choice": "acknowledge"})
    trainee.post(f"/attempts/{attempt_id}/act", data={"step": "2", "reply": "I will send it today, I promise you."})
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "ayse"))
        db.session.execute(update(User).where(User.id == user_id).values(points_total=999))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["points", "rebuild"])
    assert result.exit_code == 0, result.output
    assert f"user {user_id}: total was 999, ledger says 20; fixed" in result.output
    assert "1 totals corrected" in result.output
    with app.app_context():
        assert db.session.get(User, user_id).points_total == ledger_total(user_id) == 20
    assert "0 totals corrected" in app.test_cli_runner().invoke(args=["points", "rebuild"]).output


def test_a_new_secret_key_takes_effect_at_once_and_fallbacks_keep_sessions(app, trainee):
    # The session cookie's serializer is built once per set of keys: changing the key must still be seen.
    assert trainee.get("/library").status_code == 200
    old = app.secret_key
    app.config["SECRET_KEY"] = "a rotated key, long enough to mean it"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert trainee.get("/library").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert trainee.get("/library").status_code in (302, 303)


def _counting_session_checks(monkeypatch) -> list[str]:
    from itsdangerous import URLSafeTimedSerializer

    checked: list[str] = []
    original = URLSafeTimedSerializer.loads

    def loads(self, value, *args, **kwargs):
        checked.append(value)
        return original(self, value, *args, **kwargs)
    monkeypatch.setattr(URLSafeTimedSerializer, "loads", loads)
    return checked


def test_a_known_session_cookie_is_verified_once_but_its_age_still_counts(app, trainee, monkeypatch):
    import app.security as security

    assert trainee.get("/library").status_code == 200
    checked = _counting_session_checks(monkeypatch)
    assert trainee.get("/library").status_code == 200
    assert trainee.get("/library").status_code == 200
    assert len(checked) <= 1  # only a cookie this worker had not seen yet
    later = security.time.time() + app.permanent_session_lifetime.total_seconds() + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert trainee.get("/library").status_code in (302, 303)


def test_a_session_holding_a_list_is_verified_on_every_request(app, trainee, monkeypatch):
    # A view may change a list inside the session in place; a remembered copy would share it.
    with trainee.session_transaction() as session:
        session["notes"] = ["first"]
    checked = _counting_session_checks(monkeypatch)
    for _ in range(3):
        assert trainee.get("/library").status_code == 200
    assert len(checked) == 3
    with trainee.session_transaction() as session:
        assert session["notes"] == ["first"]


def test_a_forged_session_cookie_is_refused_even_beside_known_ones(app, trainee, client):
    assert trainee.get("/library").status_code == 200
    cookie = trainee.get_cookie("session")
    assert cookie is not None
    payload, _, signature = cookie.value.rpartition(".")
    client.set_cookie("session", payload + "." + signature[::-1])
    assert client.get("/library").status_code in (302, 303)
