"""The signed-in snapshot: who a session id still belongs to, and a points total that follows awards."""

from __future__ import annotations

from typing import Callable

from flask import Flask
from sqlalchemy import insert, select, update

from app.database import write
from app.extensions import db
from app.models import Attempt, LibraryEntry, RetryRequest, User
from app.points import award
from app.reviews import link_retry_requests
from app.security import load_user
from app.signed_in import SignedInUser


def _token(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).session_token


def test_a_session_id_loads_the_user_while_its_token_matches(app: Flask, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse", "mentor", display_name="Ayşe Yılmaz")
    token = _token(app, user_id)
    with app.test_request_context():
        user = load_user(f"{user_id}:{token}")
        assert isinstance(user, SignedInUser)
        assert (user.id, user.display_name, user.role, user.points_total) == (user_id, "Ayşe Yılmaz", "mentor", 0)
        assert user.get_id() == f"{user_id}:{token}"
        assert user.is_authenticated and user.has_role("mentor") and not user.has_role("admin", "trainer")
        assert load_user(f"{user_id}:wrong-token") is None
        assert load_user(f"{user_id + 1}:{token}") is None
        for malformed in ("", ":", f"{user_id}", f"{user_id}:", "x:y", f"-{user_id}:{token}", f"{2**40}:{token}",
                          f"{user_id}\u0663:{token}"):
            assert load_user(malformed) is None, malformed


def test_a_deactivated_account_loads_as_nobody(app: Flask, make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    token = _token(app, user_id)
    with app.test_request_context():
        write(lambda: db.session.execute(update(User).where(User.id == user_id).values(active=False)))
        assert load_user(f"{user_id}:{token}") is None


def test_the_total_is_read_again_after_an_award_to_this_user_only(app: Flask, make_user: Callable[..., int]) -> None:
    me, other = make_user("ayse"), make_user("mehmet")
    with app.test_request_context():
        user = load_user(f"{me}:{_token(app, me)}")
        assert user.points_total == 0
        write(lambda: award(other, "bonus:other", 7, "Bonus"))
        assert user.points_total == 0
        write(lambda: award(me, "bonus:mine", 5, "Bonus"))
        assert user.points_total == 5
        write(lambda: award(me, "bonus:again", 3, "Bonus"))
        assert user.points_total == 8


def test_an_award_brings_the_new_total_unless_its_transaction_rolls_back(app: Flask,
                                                                       make_user: Callable[..., int]) -> None:
    from sqlalchemy import event

    me = make_user("ayse")
    with app.test_request_context():
        user = load_user(f"{me}:{_token(app, me)}")
        assert user.points_total == 0
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        write(lambda: award(me, "bonus:first", 5, "Bonus"))
        read_at = len(statements)
        assert user.points_total == 5 and len(statements) == read_at  # returned by the award itself

        def award_then_fail() -> None:
            award(me, "bonus:lost", 40, "Bonus")
            raise RuntimeError("the transaction fails after the award")
        try:
            write(award_then_fail)
        except RuntimeError:
            pass
        read_at = len(statements)
        assert user.points_total == 5 and len(statements) == read_at + 1  # read again: 45 never held


def test_open_retry_requests_are_counted_and_read_again_once_answered(app: Flask,
                                                                     make_user: Callable[..., int]) -> None:
    me, mentor = make_user("ayse"), make_user("mehmet", "mentor")
    with app.app_context():
        version_id = db.session.scalar(select(LibraryEntry.version_id).where(LibraryEntry.content_id == "late-delivery"))
        old, new = (db.session.execute(insert(Attempt).values(
            user_id=me, version_id=version_id, content_id="late-delivery", status=status, step_count=0, actions=[],
        ).returning(Attempt.id)).scalar() for status in ("finished", "active"))
        db.session.execute(insert(RetryRequest).values(attempt_id=old, trainee_id=me, mentor_id=mentor,
                                                       content_id="late-delivery", note="Once more"))
        db.session.commit()
    with app.test_request_context():
        user = load_user(f"{me}:{_token(app, me)}")
        assert user.open_retries == 1
        write(lambda: link_retry_requests(me, "late-delivery", new))
        assert user.open_retries == 0
        assert load_user(f"{mentor}:{_token(app, mentor)}").open_retries == 0
