"""Failed sign-ins counted per account and per client in the database, so every worker sees the same counts."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, update

from .clock import aware
from .database import upsert_insert, write
from .extensions import db
from .models.users import LoginThrottle

Limits = list[tuple[str, int]]  # (key, failures allowed in one window)


class Throttled(Exception):
    """Too many failed sign-ins for this account or client; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"throttled for {retry_after} s")
        self.retry_after = max(1, retry_after)

    @property
    def minutes(self) -> int:
        """The wait rounded up to whole minutes."""
        return math.ceil(self.retry_after / 60)


def account_key(username: str) -> str:
    """The throttle key of an account name (known or not)."""
    return "user:" + username.strip().lower()[:100]


def client_key(address: str | None) -> str:
    """The throttle key of a client address."""
    return "ip:" + (address or "unknown")[:100]


def reserve(limits: Limits, moment: datetime, seconds: int) -> None:
    """Count this attempt against each key before the password is checked; Throttled when a key is used up.

    Counting first, with one atomic upsert per key, means parallel requests on several workers each take a
    slot, so a burst cannot slip more guesses through than the limit. A success gives its slots back.
    """
    window = timedelta(seconds=seconds)

    def apply() -> int:
        wait = 0
        for key, limit in limits:
            # A new window starts when the lock has run out, or when there is no lock and the window is over;
            # never while a lock is in force.
            fresh = or_(LoginThrottle.locked_until <= moment,
                        and_(LoginThrottle.locked_until.is_(None), LoginThrottle.window_start <= moment - window))
            row = db.session.execute(
                upsert_insert(LoginThrottle).values(key=key, failures=1, window_start=moment, locked_until=None)
                .on_conflict_do_update(index_elements=["key"], set_={
                    "failures": case((fresh, 1), else_=LoginThrottle.failures + 1),
                    "window_start": case((fresh, moment), else_=LoginThrottle.window_start),
                    "locked_until": case((fresh, None), else_=LoginThrottle.locked_until),
                })
                .returning(LoginThrottle.failures, LoginThrottle.locked_until)
            ).one()
            locked_until = None if row.locked_until is None else aware(row.locked_until)
            if locked_until is None and row.failures > limit:
                # More attempts in flight than the limit allows: lock now.
                locked_until = moment + window
                db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                   .values(locked_until=locked_until))
            if locked_until is not None and locked_until > moment:
                wait = max(wait, math.ceil((locked_until - moment).total_seconds()))
        return wait

    wait = write(apply)
    if wait:
        raise Throttled(wait)


def record_failure(limits: Limits, moment: datetime, seconds: int) -> None:
    """Lock each key whose failures reached its limit; drop rows whose window and lock are both over."""
    window = timedelta(seconds=seconds)

    def apply() -> None:
        for key, limit in limits:
            db.session.execute(update(LoginThrottle).where(
                LoginThrottle.key == key, LoginThrottle.failures >= limit,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= moment),
            ).values(locked_until=moment + window))
        db.session.execute(delete(LoginThrottle).where(
            LoginThrottle.window_start <= moment - window,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= moment)))
    write(apply)


def release(account: str, client: str | None = None) -> None:
    """After a success: forget the account's failures and give the client back the slot it reserved.

    Runs inside the caller's write transaction.
    """
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == account))
    if client is not None:
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == client, LoginThrottle.failures > 0)
                           .values(failures=LoginThrottle.failures - 1))
