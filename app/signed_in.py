"""The signed-in user of a request: the few columns pages read, loaded by one prebuilt query."""

from __future__ import annotations

from typing import Any

from flask_login import UserMixin
from sqlalchemy import bindparam, select, true

from .database import prebuilt
from .extensions import db
from .models import User
from .models.users import role_allows

# Ids of users whose points total changed in this session's transactions (kept in `Session.info`).
POINTS_CHANGED = "points_changed"


@prebuilt
def _signed_in_row() -> Any:
    """The user behind a session id, only while the account is active and the token still matches."""
    return select(User.id, User.display_name, User.role, User.points_total, User.leaderboard_hidden).where(
        User.id == bindparam("user_id"), User.active == true(), User.session_token == bindparam("token"))


@prebuilt
def _points_total() -> Any:
    """A user's points total as stored now."""
    return select(User.points_total).where(User.id == bindparam("user_id"))


def note_points_changed(user_id: int) -> None:
    """Record that a user's total moved in this session, so a signed-in snapshot reads it again."""
    db.session.info.setdefault(POINTS_CHANGED, set()).add(user_id)


class SignedInUser(UserMixin):
    """A read-only snapshot of the signed-in user; pages that change an account load the model itself.

    Loading the ORM model on every request cost more than most pages' own queries. The points total is
    read again after an award to this user in the same request, as the header shows it.
    """

    __slots__ = ("id", "display_name", "role", "leaderboard_hidden", "_points_total", "_token")

    def __init__(self, row: Any, token: str) -> None:
        self.id: int = row.id
        self.display_name: str = row.display_name
        self.role: str = row.role
        self.leaderboard_hidden: bool = bool(row.leaderboard_hidden)
        self._points_total: int = int(row.points_total or 0)
        self._token = token

    @property
    def points_total(self) -> int:
        """The user's points total, read again when an award in this request changed it."""
        changed = db.session.info.get(POINTS_CHANGED)
        if changed and self.id in changed:
            changed.discard(self.id)
            self._points_total = int(db.session.connection().execute(
                _points_total(), {"user_id": self.id}).scalar() or 0)
        return self._points_total

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
    row = db.session.connection().execute(_signed_in_row(), {"user_id": user_id, "token": token}).first()
    return None if row is None else SignedInUser(row, token)
