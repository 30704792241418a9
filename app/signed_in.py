"""The signed-in user of a request: the few columns pages read, loaded by one prebuilt query."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import Flask, current_app, has_request_context, request
from flask_login import UserMixin
from sqlalchemy import bindparam, event, func, select, true
from sqlalchemy.orm import Session

from . import library_version
from .database import prebuilt
from .direct_sql import DirectStatement
from .extensions import db
from .models import RetryRequest, Review, User
from .models.users import role_allows

# {(what, user id): the new value, or None to read it again} for what changed in this session (`Session.info`).
CHANGED = "signed_in_changed"
POINTS, REVIEWS, RETRIES = "points", "reviews", "retries"


def _unseen_reviews(user_id: Any) -> Any:
    """How many of a trainee's reviews are new or changed since they last opened them."""
    return (select(func.count()).select_from(Review)
            .where(Review.trainee_id == user_id, Review.seen_revision < Review.revision).scalar_subquery())


def _open_retries(user_id: Any) -> Any:
    """How many of a trainee's retry requests no later attempt has answered yet."""
    return (select(func.count()).select_from(RetryRequest)
            .where(RetryRequest.trainee_id == user_id, RetryRequest.new_attempt_id.is_(None)).scalar_subquery())


def signed_in_row() -> Any:
    """The user behind a session id, only while the account is active and the token still matches.

    The header's count of unseen reviews comes along, as every trainee's page shows it, and the count of
    open retry requests, so that pages with the retry banner look the requests up only when there are
    some; so does the library's version, so that pages know whether the worker's library facts are
    current. A statement that reads another row with the user adds its columns after these.
    """
    return select(User.id, User.display_name, User.role, User.points_total, User.leaderboard_hidden,
                  _unseen_reviews(User.id).label("unseen_reviews"),
                  _open_retries(User.id).label("open_retries"),
                  library_version.version_now().label("library_version")).where(
        User.id == bindparam("user_id"), User.active == true(), User.session_token == bindparam("token"))


# Every request of a signed-in user runs it, so it skips SQLAlchemy's execution path.
_SIGNED_IN_ROW = DirectStatement(signed_in_row)
_USER_COLUMNS = len(signed_in_row().selected_columns)

# app.extensions key: per endpoint, a loader that reads the row its view starts with in the user's statement.
LOADERS = "signed_in_loaders"
ReadWithUser = Callable[[int, str, Mapping[str, Any]], "SignedInUser | None"]


_READ_AGAIN = {
    POINTS: prebuilt(lambda: select(User.points_total).where(User.id == bindparam("user_id"))),
    REVIEWS: prebuilt(lambda: select(_unseen_reviews(bindparam("user_id")))),
    RETRIES: prebuilt(lambda: select(_open_retries(bindparam("user_id")))),
}


def stored_count(what: str, user_id: int) -> int:
    """A user's points total (POINTS), unseen reviews (REVIEWS) or open retry requests (RETRIES) as stored now."""
    return int(db.session.connection().execute(_READ_AGAIN[what](), {"user_id": user_id}).scalar() or 0)


def note_changed(user_id: int, what: str, now: int | None = None) -> None:
    """Record that a user's points, reviews or retry requests moved in this session, so a snapshot reads them again.

    `now` is the new value when the change returned it: a snapshot then takes it without a read, unless the
    session rolls back first.
    """
    db.session.info.setdefault(CHANGED, {})[(what, user_id)] = now


@event.listens_for(Session, "after_soft_rollback")
def _forget_new_values(session: Session, _previous: Any) -> None:
    # A value returned inside a transaction that was rolled back (or a savepoint that was) may never hold.
    changed = session.info.get(CHANGED)
    if changed:
        changed.update(dict.fromkeys(changed))


class SignedInUser(UserMixin):
    """A read-only snapshot of the signed-in user; pages that change an account load the model itself.

    Loading the ORM model on every request cost more than most pages' own queries. The points total, the
    unseen reviews and the open retry requests are read again after this request changed them.
    """

    __slots__ = ("id", "display_name", "role", "leaderboard_hidden", "_counts", "_token")

    def __init__(self, row: tuple[Any, ...], token: str) -> None:
        user_id, display_name, role, points_total, leaderboard_hidden, unseen_reviews, open_retries, version = row
        library_version.note_seen(version)
        self.id: int = user_id
        self.display_name: str = display_name
        self.role: str = role
        self.leaderboard_hidden: bool = bool(leaderboard_hidden)
        self._counts = {POINTS: int(points_total or 0), REVIEWS: int(unseen_reviews or 0),
                        RETRIES: int(open_retries or 0)}
        self._token = token

    def _count(self, what: str) -> int:
        changed = db.session.info.get(CHANGED)
        if changed and (what, self.id) in changed:
            now = changed.pop((what, self.id))
            self._counts[what] = stored_count(what, self.id) if now is None else now
        return self._counts[what]

    @property
    def points_total(self) -> int:
        """The user's points total, read again when an award in this request changed it."""
        return self._count(POINTS)

    @property
    def unseen_reviews(self) -> int:
        """How many of the user's reviews are new or changed since they last opened them."""
        return self._count(REVIEWS)

    @property
    def open_retries(self) -> int:
        """How many of the user's retry requests are still waiting for a new attempt."""
        return self._count(RETRIES)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Only active accounts are ever loaded."""
        return True

    def get_id(self) -> str:
        """The same login id the model gives: user id and session token."""
        return f"{self.id}:{self._token}"

    def has_role(self, *roles: str) -> bool:
        """True when the user has one of the roles (admins have every role)."""
        return role_allows(self.role, roles)


def load_signed_in(user_id: int, token: str) -> SignedInUser | None:
    """The signed-in snapshot for a session's user id and token, or None when it no longer holds."""
    row = _SIGNED_IN_ROW.first(db.session.connection(), {"user_id": user_id, "token": token})
    return None if row is None else SignedInUser(row, token)


def signed_in_with(statement: DirectStatement, user_id: int, token: str,
                   values: Mapping[str, Any]) -> tuple[SignedInUser, tuple[Any, ...]] | None:
    """The snapshot and the extra columns of a statement that extends `signed_in_row()`; None as there."""
    row = statement.first(db.session.connection(), {**values, "user_id": user_id, "token": token})
    if row is None:
        return None
    return SignedInUser(row[:_USER_COLUMNS], token), row[_USER_COLUMNS:]


def read_with_user(app: Flask, endpoint: str, load: ReadWithUser) -> None:
    """Have this app's requests to `endpoint` load the user with `load(user_id, token, view_args)`.

    On PostgreSQL every statement is a network round trip; a view that starts by reading a row named
    in its URL, or facts of the user that its page always shows, can have them come with the user.
    """
    app.extensions.setdefault(LOADERS, {})[endpoint] = load


def load_for_request(user_id: int, token: str) -> SignedInUser | None:
    """The signed-in snapshot, read together with the endpoint's first row where one is registered."""
    load = None
    if has_request_context():
        load = current_app.extensions.get(LOADERS, {}).get(request.endpoint or "")
    if load is None:
        return load_signed_in(user_id, token)
    return load(user_id, token, request.view_args or {})


def snapshot_of(user: User) -> SignedInUser:
    """The snapshot of a user who has just proved who they are, to sign in with."""
    signed_in = load_signed_in(user.id, user.session_token)
    if signed_in is None:
        raise LookupError(f"user {user.id} is not active")
    return signed_in
