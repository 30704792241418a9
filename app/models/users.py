"""Accounts, login throttling and one-off settings shared by every worker."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db

ROLES = ("trainee", "mentor", "trainer", "admin")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC, read through the clock seam so tests can move it."""
    return clock.now()


def role_allows(role: str, roles: tuple[str, ...]) -> bool:
    """True when `role` is one of `roles`; admins have every role."""
    return role == "admin" or role in roles


def new_token() -> str:
    """A fresh random token for session revocation."""
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    """A person who signs in: trainee, mentor, trainer or admin."""

    __tablename__ = "users"
    __table_args__ = (Index("points_board", "role", "points_total", "points_reached_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="trainee")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_token)
    # The sum of this user's ledger rows, kept in step with every award; rebuildable from the ledger.
    points_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the total last changed: boards rank equal totals by who reached them first.
    points_reached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Trainees may keep their name off public boards and the kudos feed; they still see their own rank.
    leaderboard_hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def get_id(self) -> str:
        """The login id carries the session token, so rotating the token signs every session out."""
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Deactivated accounts cannot sign in or stay signed in."""
        return bool(self.active)

    def has_role(self, *roles: str) -> bool:
        """True when the user has one of the roles (admins have every role)."""
        return role_allows(self.role, roles)


class LoginThrottle(db.Model):
    """Failed sign-ins counted per account or per client address, in the database so all workers agree."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AppSetting(db.Model):
    """A named value stored once for the whole installation (the first-run setup token)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
