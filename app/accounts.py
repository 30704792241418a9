"""Accounts: password hashing, sign-in, roles, deactivation, session revocation and first-run setup."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from . import board_cache, login_throttle
from .database import upsert_insert, write
from .extensions import db
from .login_throttle import Throttled  # noqa: F401  (views catch accounts.Throttled)
from .models.users import ROLES, AppSetting, User, new_token, utcnow

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB of memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
USERNAME = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 120
SETUP_TOKEN = "setup_token"
# Checked when the username is unknown, so that answer takes as long as a wrong password (of a random secret).
DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$sRA4YRXgT3NXgjvhpBOKfA$w3gntuv9pBKYAjCTbey9E0jdMUnZF2KeTJXCjR6s+3o"


def now() -> datetime:
    """The current time; tests replace this to move the clock."""
    return utcnow()


class AccountError(ValueError):
    """Bad input for an account (a readable message for the person who typed it)."""


class NameTaken(AccountError):
    """The username belongs to someone else already."""


class WrongSetupToken(AccountError):
    """The first-run setup token is missing or does not match."""


class Refused(AccountError):
    """A change an admin may not make to their own account."""


class SetupClosed(Exception):
    """Setup is over: at least one account exists."""


class NoSuchUser(LookupError):
    """No account has this id or name."""


@dataclass(frozen=True)
class Account:
    """An account as the admin list shows it."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool


# Passwords


def hash_password(password: str) -> str:
    """An argon2id hash of the password with OWASP's parameters."""
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash; a malformed hash never matches."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str) -> str:
    """The password itself when it is acceptable, else an AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("The password must be at least %(count)d characters long.", count=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise AccountError(_("The password must be at most %(count)d characters long.", count=MAX_PASSWORD))
    return password


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed and lower-case."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username when it is acceptable, else an AccountError."""
    name = normalise_username(username)
    if not USERNAME.fullmatch(name):
        raise AccountError(_("A username has 3 to 64 characters: letters a-z, digits, dots, "
                             "dashes and underscores."))
    return name


def check_display_name(display_name: str | None, username: str) -> str:
    """The trimmed display name (the username when blank), else an AccountError."""
    name = " ".join((display_name or "").split()) or username
    if len(name) > MAX_DISPLAY_NAME:
        raise AccountError(_("The name must be at most %(count)d characters long.", count=MAX_DISPLAY_NAME))
    return name


def check_role(role: str) -> str:
    """The role when it is one of ROLES, else an AccountError."""
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s: use one of %(roles)s.", role=role, roles=", ".join(ROLES)))
    return role


# Users


def create_user(username: str, password: str, role: str = "trainee", display_name: str | None = None) -> User:
    """Create an active account; AccountError for bad input, NameTaken when the name is in use."""
    name = check_username(username)
    shown = check_display_name(display_name, name)
    check_role(role)
    password_hash = hash_password(check_password(password))

    def insert() -> User:
        if _username_taken(name):
            raise NameTaken(_("The username %(name)s is taken.", name=name))
        user = User(username=name, display_name=shown, password_hash=password_hash, role=role, active=True,
                    session_token=new_token(), created_at=utcnow())
        db.session.add(user)
        db.session.flush()
        return user

    try:
        return write(insert, durable=True)
    except IntegrityError as exc:  # another worker took the name between the check and the insert
        raise NameTaken(_("The username %(name)s is taken.", name=name)) from exc


def _username_taken(name: str) -> bool:
    return db.session.scalar(select(User.id).where(User.username == name)) is not None


def get_user(user_id: int) -> User:
    """The user with this id, else NoSuchUser."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NoSuchUser(user_id)
    return user


def find_user(username: str) -> User:
    """The user with this username, else NoSuchUser."""
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NoSuchUser(username)
    return user


def list_users() -> list[Account]:
    """Every account, by username."""
    users = db.session.scalars(select(User).order_by(User.username))
    return [Account(u.id, u.username, u.display_name, u.role, bool(u.active)) for u in users]


def _change(user_id: int, **values: Any) -> User:
    """Set columns on one user and rotate its session token, in one write transaction."""
    def apply() -> User:
        user = get_user(user_id)
        for column, value in values.items():
            setattr(user, column, value)
        user.session_token = new_token()
        if "role" in values or "active" in values:
            board_cache.bump_version()  # who is on the boards changed: every cached board is out of date
        return user
    return write(apply, durable=True)


def logout(user_id: int) -> None:
    """Sign the user out everywhere: sessions and remember-me cookies carry the old token."""
    _change(user_id)


def change_password(user_id: int, old: str, new: str) -> User:
    """Change one's own password after checking the old one (throttled like sign-in); signs out every session."""
    user = get_user(user_id)
    check_password(new)
    limits = [(login_throttle.account_key(user.username), current_app.config["LOGIN_FAILURES_PER_ACCOUNT"])]
    seconds = current_app.config["LOGIN_LOCK_SECONDS"]
    login_throttle.reserve(limits, now(), seconds)
    if not verify_password(user.password_hash, old):
        login_throttle.record_failure(limits, now(), seconds)
        raise AccountError(_("The current password is wrong."))
    return _set_password(user_id, hash_password(new))


def reset_password(user_id: int, new: str) -> User:
    """Set a user's password (by an admin); signs out all their sessions and lifts a sign-in lock."""
    get_user(user_id)
    return _set_password(user_id, hash_password(check_password(new)))


def _set_password(user_id: int, password_hash: str) -> User:
    def apply() -> User:
        user = get_user(user_id)
        login_throttle.release(login_throttle.account_key(user.username))
        user.password_hash = password_hash
        user.session_token = new_token()
        return user
    return write(apply, durable=True)


def set_role(user_id: int, role: str, by: int | None = None) -> User:
    """Give a user another role; an admin cannot take their own admin role away."""
    get_user(user_id)
    check_role(role)
    if by == user_id and role != "admin":
        raise Refused(_("You cannot remove your own admin role; ask another admin."))
    return _change(user_id, role=role)


def set_active(user_id: int, active: bool, by: int | None = None) -> User:
    """Deactivate (signing out every session) or reactivate an account; nobody deactivates themselves."""
    get_user(user_id)
    if by == user_id and not active:
        raise Refused(_("You cannot deactivate your own account."))
    return _change(user_id, active=active)


# Sign-in and throttling


def authenticate(username: str, password: str, client_key: str | None) -> User | None:
    """The active user these credentials belong to, else None; Throttled after too many failures.

    `client_key` is the client's address. Unknown names, wrong passwords and deactivated accounts all
    give None after the same work, so the answer does not tell which it was.
    """
    config = current_app.config
    account, client = login_throttle.account_key(username), login_throttle.client_key(client_key)
    limits = [(account, config["LOGIN_FAILURES_PER_ACCOUNT"]), (client, config["LOGIN_FAILURES_PER_CLIENT"])]
    login_throttle.reserve(limits, now(), config["LOGIN_LOCK_SECONDS"])
    name = normalise_username(username)
    user = db.session.scalar(select(User).where(User.username == name)) if USERNAME.fullmatch(name) else None
    password = password[:MAX_PASSWORD]
    if user is None:
        verify_password(DUMMY_HASH, password)
    elif verify_password(user.password_hash, password) and user.active:
        new_hash = hash_password(password) if HASHER.check_needs_rehash(user.password_hash) else None

        def succeed() -> None:
            login_throttle.release(account, client)
            if new_hash:
                db.session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
        write(succeed)
        return user
    login_throttle.record_failure(limits, now(), config["LOGIN_LOCK_SECONDS"])
    return None


# First-run setup


def setup_needed() -> bool:
    """True while no account exists at all."""
    return db.session.scalar(select(func.count()).select_from(User)) == 0


def _setup_token() -> str | None:
    return db.session.scalar(select(AppSetting.value).where(AppSetting.key == SETUP_TOKEN))


def ensure_setup_token() -> tuple[str, bool]:
    """The setup token, made now when there is none (every worker agrees on the first one stored)."""
    existing = _setup_token()
    if existing:
        return existing, False

    def apply() -> tuple[str, bool]:
        inserted = db.session.execute(upsert_insert(AppSetting).values(key=SETUP_TOKEN, value=secrets.token_urlsafe(24))
                                      .on_conflict_do_nothing(index_elements=["key"]))
        return _setup_token() or "", bool(inserted.rowcount)
    return write(apply)


def announce_setup_token() -> str | None:
    """At start: while setup is needed, log the one-time token that /setup asks for; else forget it."""
    if not setup_needed():
        if _setup_token() is not None:
            write(lambda: db.session.execute(delete(AppSetting).where(AppSetting.key == SETUP_TOKEN)))
        return None
    token = ensure_setup_token()[0]
    _log_setup_token(token)
    return token


def prepare_setup() -> None:
    """Before showing /setup: make and log a token if none was made at start."""
    token, created = ensure_setup_token()
    if created:
        _log_setup_token(token)


def _log_setup_token(token: str) -> None:
    current_app.logger.warning(
        "No accounts yet. Open /setup and enter this one-time setup token to create the first admin: %s", token)


def claim_setup(token: str, username: str, display_name: str | None, password: str) -> User:
    """Create the first admin with the one-time token, and spend the token in the same transaction."""
    if not setup_needed():
        raise SetupClosed()
    name = check_username(username)
    shown = check_display_name(display_name, name)
    password_hash = hash_password(check_password(password))
    offered = token.strip().encode("utf-8")

    def apply() -> User:
        if not setup_needed():
            raise SetupClosed()
        stored = _setup_token()
        if stored is None and not setup_needed():
            raise SetupClosed()  # another request spent the token and created the admin just now
        if not offered or stored is None or not hmac.compare_digest(offered, stored.encode("utf-8")):
            raise WrongSetupToken(_("The setup token is wrong. Copy it from the server log."))
        spent = db.session.execute(delete(AppSetting).where(AppSetting.key == SETUP_TOKEN,
                                                            AppSetting.value == stored))
        if spent.rowcount != 1:  # another request spent it first
            raise SetupClosed()
        user = User(username=name, display_name=shown, password_hash=password_hash, role="admin", active=True,
                    session_token=new_token(), created_at=utcnow())
        db.session.add(user)
        db.session.flush()
        return user
    return write(apply, durable=True)
