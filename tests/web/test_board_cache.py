"""The shared board cache: hits skip the computation, the viewer's own points and admin changes show at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import event, func, literal, select, update

from app import board_cache, boards, clock, create_app, progress, rewards, teams
from app.accounts import set_active, set_role
from app.boards import BoardQuery, leaderboard
from app.database import write
from app.extensions import db
from app.models import BoardCacheEntry, KudosEvent, User
from app.points import award

from tests.web.conftest import PASSWORD

START = datetime(2026, 5, 6, 9, tzinfo=timezone.utc)
LIFETIME = 30
QUERIES = (BoardQuery(), BoardQuery("week"), BoardQuery("month"))


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    """The test settings with the cache on."""
    return {**app_config, "BOARD_CACHE_SECONDS": LIFETIME, "LEADERBOARD_SIZE": 3, "LEADERBOARD_NEIGHBOURS": 1}


class Clock:
    """The platform clock, fixed at a moment that tests move forward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.moment = START
        monkeypatch.setattr(clock, "now", lambda: self.moment)

    def forward(self, seconds: float) -> None:
        """Move the clock on."""
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fake clock starting at START."""
    return Clock(monkeypatch)


@pytest.fixture
def earn(app: Flask, moment: Clock) -> Callable[[int, int], None]:
    """Award a trainee points as play does (no boards version bump), a second after the last award."""
    count = iter(range(1_000_000))

    def give(user_id: int, amount: int) -> None:
        moment.forward(1)
        with app.app_context():
            write(lambda: award(user_id, f"test:{next(count)}", amount, "Test points"))
    return give


@pytest.fixture
def trainees(make_user: Callable[..., int], earn: Callable[[int, int], None]) -> list[int]:
    """Five ranked trainees: trainee0 (50 points) ahead of trainee1 (40) and so on down to trainee4 (10)."""
    ids = [make_user(f"trainee{number}", display_name=f"Trainee {number}") for number in range(5)]
    for number, user_id in enumerate(ids):
        earn(user_id, 50 - 10 * number)
    return ids


def ranked(app: Flask, viewer: int, query: BoardQuery = BoardQuery()) -> boards.Board:
    with app.app_context():
        return leaderboard(query, viewer)


def top_ids(board: boards.Board) -> list[int]:
    return [row.user_id for row in board.top]


@pytest.fixture
def uncomputable(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make computing any board part fail, so only the cache can answer."""
    def refuse(*args: object) -> None:
        raise AssertionError("the board was computed, not read from the cache")

    def forbid() -> None:
        monkeypatch.setattr(boards._Computation, "top", refuse)
        monkeypatch.setattr(boards._Computation, "place", refuse)
    return forbid


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run (not counting SQLite's BEGIN) while the list is being recorded into."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement != "BEGIN":
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_hit_serves_the_stored_board_in_one_statement_without_computing(app, trainees, uncomputable,
                                                                          statements):
    first = {query: ranked(app, trainees[3], query) for query in QUERIES}
    uncomputable()
    statements.clear()
    for query in QUERIES:
        assert ranked(app, trainees[3], query) == first[query]
    # The viewer's row brings the cached top and place along.
    assert len(statements) == len(QUERIES), statements
    assert first[BoardQuery()].viewer.rank == 4 and top_ids(first[BoardQuery()]) == trainees[:3]


def test_a_viewer_off_the_board_gets_the_cached_top_with_the_settings(app, trainees, make_user, uncomputable,
                                                                     statements):
    mentor = make_user("mentor", "mentor")
    first = {query: ranked(app, mentor, query) for query in QUERIES}
    assert all(board.viewer is None for board in first.values())
    uncomputable()
    statements.clear()
    for query in QUERIES:
        assert ranked(app, mentor, query) == first[query]
    # No row of their own: one statement for it, one for the settings that bring the cached top along.
    assert len(statements) == 2 * len(QUERIES), statements


def test_a_cached_board_is_the_board_computed_at_that_moment(app, trainees, make_user, earn, moment):
    hidden = make_user("shy", display_name="Shy")
    earn(hidden, 35)
    with app.app_context():
        progress.set_hidden(hidden, True)
        team = teams.create_team("Desk")
        for number in (0, 2, 3):
            teams.add_member(team, f"trainee{number}")
        teams.add_member(team, "shy")
    queries = QUERIES + (BoardQuery(team_id=team), BoardQuery("week", team_id=team))
    for viewer in trainees + [hidden]:
        for query in queries:
            cached = ranked(app, viewer, query)
            app.config["BOARD_CACHE_SECONDS"] = 0
            computed = ranked(app, viewer, query)
            app.config["BOARD_CACHE_SECONDS"] = LIFETIME
            assert cached == computed == ranked(app, viewer, query), (viewer, query)


def test_a_cached_board_renders_as_the_computed_one(app, trainees, login):
    client = login("trainee3")

    def fragment(url: str) -> str:
        return client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    for url in ("/leaderboards", "/leaderboards?window=week"):
        first = fragment(url)
        assert fragment(url) == first and first in client.get(url).get_data(as_text=True)
        app.config["BOARD_CACHE_SECONDS"] = 0
        assert fragment(url) == first
        app.config["BOARD_CACHE_SECONDS"] = LIFETIME
        assert "You are number 4 with 20 points." in first


def test_a_board_that_cannot_be_kept_is_still_served(app, trainees, login, monkeypatch):
    from sqlalchemy.exc import OperationalError

    client = login("trainee3")

    def busy(fn):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT INTO board_cache", {}, Exception("database is locked"))

    monkeypatch.setattr(board_cache, "write", busy)
    response = client.get("/leaderboards")
    assert response.status_code == 200
    assert "You are number 4 with 20 points." in response.get_data(as_text=True)


def test_the_viewers_own_new_points_show_at_once_top_included(app, trainees, earn):
    assert ranked(app, trainees[3]).viewer.rank == 4
    earn(trainees[3], 25)                                   # 45 points: second
    board = ranked(app, trainees[3])
    assert board.viewer.rank == 2 and board.viewer.points == 45
    assert top_ids(board) == [trainees[0], trainees[3], trainees[1]]
    assert [row.rank for row in board.top] == [1, 2, 3] and board.top[1].is_viewer
    for query in QUERIES[1:]:
        assert ranked(app, trainees[3], query).viewer.points == 45


def test_another_trainees_points_show_when_the_entry_expires(app, trainees, earn, moment):
    before = ranked(app, trainees[3])
    earn(trainees[4], 100)                                  # t4 goes first, ahead of the viewer
    assert ranked(app, trainees[3]) == before
    moment.forward(LIFETIME)
    after = ranked(app, trainees[3])
    assert after.viewer.rank == 5 and top_ids(after) == [trainees[4], trainees[0], trainees[1]]


def test_hiding_oneself_shows_at_once_for_everyone(app, trainees):
    assert trainees[0] in top_ids(ranked(app, trainees[3]))
    with app.app_context():
        progress.set_hidden(trainees[0], True)
    board = ranked(app, trainees[3])
    assert top_ids(board) == trainees[1:4] and board.viewer.rank == 3
    with app.app_context():
        progress.set_hidden(trainees[0], False)
    assert top_ids(ranked(app, trainees[3])) == trainees[:3]


def test_the_board_mode_shows_at_once_for_everyone(app, trainees, make_user, login):
    mentor = make_user("mentor", "mentor")                  # off the board: no row of their own
    client = login("trainee3")
    assert "Trainee 0" in client.get("/leaderboards").get_data(as_text=True)
    assert ranked(app, mentor).top[0].name == "Trainee 0"
    with app.app_context():
        boards.set_board_mode("anonymous")
    page = client.get("/leaderboards").get_data(as_text=True)
    assert "Trainee 0" not in page and "Trainee 3" in page and "Anonymous trainee" in page
    assert ranked(app, mentor).top[0].name is None
    with app.app_context():
        boards.set_board_mode("off")
    assert "switched off" in client.get("/leaderboards").get_data(as_text=True)
    with app.app_context():
        boards.set_board_mode("on")
    assert "Trainee 0" in client.get("/leaderboards").get_data(as_text=True)


def test_team_changes_show_at_once_for_everyone(app, trainees):
    with app.app_context():
        team = teams.create_team("Desk")
        teams.add_member(team, "trainee3")
    query = BoardQuery(team_id=team)
    assert top_ids(ranked(app, trainees[3], query)) == [trainees[3]]
    with app.app_context():
        teams.add_member(team, "trainee0")
    assert top_ids(ranked(app, trainees[3], query)) == [trainees[0], trainees[3]]
    with app.app_context():
        teams.remove_member(team, trainees[0])
    assert top_ids(ranked(app, trainees[3], query)) == [trainees[3]]


def test_deactivation_and_role_changes_show_at_once_for_everyone(app, trainees):
    assert top_ids(ranked(app, trainees[3])) == trainees[:3]
    with app.app_context():
        set_active(trainees[0], False)
        set_role(trainees[1], "mentor")
    board = ranked(app, trainees[3])
    assert top_ids(board) == [trainees[2], trainees[3], trainees[4]] and board.viewer.rank == 2


def test_two_app_instances_share_entries_and_the_version(app, app_config, trainees, uncomputable):
    first = ranked(app, trainees[3])
    other = create_app(app_config)
    try:
        with other.app_context():
            uncomputable()
            assert leaderboard(BoardQuery(), trainees[3]) == first
            progress.set_hidden(trainees[0], True)      # a change made through the other server
        with pytest.raises(AssertionError, match="computed"):
            ranked(app, trainees[3])
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def stored(key: str) -> object:
    """What a board read finds under a key now (decoded; None when nothing unexpired is there)."""
    value = db.session.scalar(select(board_cache.stored_under(literal(key))), {"now": clock.now()})
    return None if value is None else json.loads(value)


def test_storing_the_same_entry_twice_is_harmless(app, moment):
    with app.app_context():
        board_cache.store({"k": [1]})
        board_cache.store({"k": [2]})
        assert (stored("k"), stored("missing")) == ([2], None)


def test_expired_entries_are_swept_now_and_then_not_on_every_store(app, moment):
    def count() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(BoardCacheEntry))

    with app.app_context():
        board_cache.store({"old": 1})
    moment.forward(LIFETIME)
    with app.app_context():
        assert stored("old") is None
        board_cache.store({"new": 2})
    assert count() == 2                     # swept at the first store, not again until SWEEP_EVERY has passed
    moment.forward(board_cache.SWEEP_EVERY.total_seconds())
    with app.app_context():
        board_cache.store({"newer": 3})
        assert set(db.session.scalars(select(BoardCacheEntry.key))) == {"newer"}


def test_pages_sign_in_and_read_the_cache(app, trainees, client):
    response = client.post("/login", data={"username": "trainee4", "password": PASSWORD})
    assert response.status_code in (302, 303)
    assert "You are number 5 with 10 points." in client.get("/leaderboards").get_data(as_text=True)


# The kudos feed is kept the same way: computed once for everyone, the viewer's own events merged in fresh.


def post(app: Flask, user_id: int, ref: str) -> None:
    with app.app_context():
        write(lambda: rewards.post_kudos(user_id, "badge", ref, f"Badge {ref}"))


def feed_of(app: Flask, viewer: int, team_ids: list[int] | None = None) -> list[tuple[str | None, str]]:
    """The feed a viewer reads: (author's name as shown, badge) newest first."""
    with app.app_context():
        user = db.session.get(User, viewer)
        return [(item.name, item.ref) for item in progress.kudos_feed(user, team_ids)]


@pytest.fixture
def unfed(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make computing the feed fail, so only the cache can answer."""
    def refuse(*args: object) -> None:
        raise AssertionError("the feed was computed, not read from the cache")
    return lambda: monkeypatch.setattr(progress, "_computed_feed", refuse)


def test_a_cached_feed_is_served_without_computing_and_others_news_shows_when_it_expires(app, trainees, moment,
                                                                                         unfed):
    post(app, trainees[0], "first")
    assert feed_of(app, trainees[3]) == [("Trainee 0", "first")]
    post(app, trainees[1], "second")
    unfed()
    assert feed_of(app, trainees[3]) == [("Trainee 0", "first")]  # another's news waits for the entry to expire
    moment.forward(LIFETIME + 1)
    with pytest.raises(AssertionError, match="computed"):
        feed_of(app, trainees[3])


def test_the_viewers_own_news_shows_at_once_in_a_cached_feed(app, trainees, unfed):
    post(app, trainees[0], "first")
    assert feed_of(app, trainees[3]) == [("Trainee 0", "first")]
    unfed()
    post(app, trainees[3], "mine")
    assert feed_of(app, trainees[3]) == [("Trainee 3", "mine"), ("Trainee 0", "first")]
    assert feed_of(app, trainees[2]) == [("Trainee 0", "first")]


def test_a_team_feed_merges_only_news_from_within_the_team(app, trainees, unfed):
    with app.app_context():
        desk = teams.create_team("Desk")
        teams.add_member(desk, "trainee3")
        teams.add_member(desk, "trainee0")
    post(app, trainees[0], "first")
    assert feed_of(app, trainees[3], [desk]) == [("Trainee 0", "first")]
    unfed()
    post(app, trainees[3], "mine")
    assert feed_of(app, trainees[3], [desk]) == [("Trainee 3", "mine"), ("Trainee 0", "first")]
    with app.app_context():
        teams.remove_member(desk, trainees[3])  # retires every cached feed: computed again, without the viewer
    with pytest.raises(AssertionError, match="computed"):
        feed_of(app, trainees[3], [desk])


def test_hiding_and_the_board_mode_reach_a_cached_feed_at_once(app, trainees):
    post(app, trainees[0], "first")
    post(app, trainees[3], "mine")
    assert feed_of(app, trainees[3]) == [("Trainee 3", "mine"), ("Trainee 0", "first")]
    with app.app_context():
        progress.set_hidden(trainees[0], True)
    assert feed_of(app, trainees[3]) == [("Trainee 3", "mine")]
    with app.app_context():
        progress.set_hidden(trainees[0], False)
        progress.set_hidden(trainees[3], True)
    assert feed_of(app, trainees[3]) == [("Trainee 0", "first")]  # the hidden viewer's own news is not merged
    with app.app_context():
        progress.set_hidden(trainees[3], False)
        boards.set_board_mode("anonymous")
    assert feed_of(app, trainees[3]) == [("Trainee 3", "mine"), (None, "first")]
    assert feed_of(app, trainees[0]) == [(None, "mine"), ("Trainee 0", "first")]


def test_an_empty_feed_is_kept_too_and_a_mentor_reads_the_kept_feed_as_it_is(app, trainees, make_user, unfed):
    mentor = make_user("mentor", role="mentor", display_name="Mentor")
    assert feed_of(app, mentor) == feed_of(app, trainees[3]) == []
    unfed()
    assert feed_of(app, mentor) == []
    post(app, trainees[3], "mine")
    assert feed_of(app, mentor) == []  # only a trainee's own news is merged in at once
    assert feed_of(app, trainees[3]) == [("Trainee 3", "mine")]


def test_the_feed_page_shares_its_rendered_list_only_among_viewers_who_see_the_same(app, trainees, login):
    from app.web.rendered_scenes import PAGE_PIECES

    post(app, trainees[0], "first")
    page = login("trainee1").get("/feed").get_data(as_text=True)
    assert "Trainee 0" in page and "Badge first" in page
    fragment = login("trainee2").get("/feed", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.strip() in page and "<html" not in fragment
    kept = app.extensions[PAGE_PIECES].pieces
    assert len(kept) == 1
    post(app, trainees[3], "mine")  # the viewer's own news: merged into their feed alone
    mine = login("trainee3").get("/feed").get_data(as_text=True)
    assert "Badge mine" in mine and "Badge first" in mine and len(kept) == 2
    assert "Badge mine" not in login("trainee2").get("/feed").get_data(as_text=True) and len(kept) == 2
    with app.app_context():
        boards.set_board_mode("anonymous")
    mine = login("trainee3").get("/feed").get_data(as_text=True)
    theirs = login("trainee0").get("/feed").get_data(as_text=True)
    assert "Trainee 3" in mine and "Trainee 0" not in mine
    assert "Trainee 0" in theirs and "Trainee 3" not in theirs


def own_news_reads(statements: list[str]) -> int:
    """How many of the recorded statements read a viewer's own events to merge them into a cached feed."""
    return sum(1 for statement in statements
               if "LIMIT 10" in statement and "kudos_events" in statement and "display_name" in statement)


def test_a_cached_feed_reads_the_viewers_own_events_only_when_their_newest_may_be_missing(app, trainees, unfed,
                                                                                          statements, monkeypatch):
    post(app, trainees[3], "old")
    post(app, trainees[0], "first")
    post(app, trainees[1], "second")
    assert feed_of(app, trainees[3]) == [("Trainee 1", "second"), ("Trainee 0", "first"), ("Trainee 3", "old")]
    unfed()
    statements.clear()
    # Their newest event is in the cached feed, and nobody has none to merge: no read of their own events.
    assert feed_of(app, trainees[3])[2] == ("Trainee 3", "old")
    assert feed_of(app, trainees[2]) == [("Trainee 1", "second"), ("Trainee 0", "first"), ("Trainee 3", "old")]
    assert own_news_reads(statements) == 0
    # A newer one is not: it is read, and shows at once.
    post(app, trainees[3], "new")
    statements.clear()
    assert feed_of(app, trainees[3])[0] == ("Trainee 3", "new") and own_news_reads(statements) == 1
    # In a full feed, a newest event older than every one shown could not make the cut: nothing to read.
    monkeypatch.setattr(progress, "FEED_SIZE", 2)
    statements.clear()
    assert feed_of(app, trainees[4]) == [("Trainee 1", "second"), ("Trainee 0", "first"), ("Trainee 3", "old")]
    post(app, trainees[4], "late")
    with app.app_context():
        write(lambda: db.session.execute(update(KudosEvent).where(KudosEvent.ref == "late").values(
            created_at=datetime(2020, 1, 1, tzinfo=timezone.utc))))
    statements.clear()
    assert ("Trainee 4", "late") not in feed_of(app, trainees[4]) and own_news_reads(statements) == 0


def test_an_own_event_that_committed_after_the_feed_was_cached_shows_at_once(app, trainees, unfed):
    """Two tabs: the event stamped earlier commits later, after a feed holding the newer one was cached."""
    post(app, trainees[0], "first")
    post(app, trainees[3], "newer")
    assert feed_of(app, trainees[3]) == [("Trainee 3", "newer"), ("Trainee 0", "first")]
    unfed()
    post(app, trainees[3], "older")
    with app.app_context():
        stamped = db.session.scalar(select(KudosEvent.created_at).where(KudosEvent.ref == "newer"))
        write(lambda: db.session.execute(update(KudosEvent).where(KudosEvent.ref == "older").values(
            created_at=stamped - timedelta(seconds=1))))
    assert feed_of(app, trainees[3]) == [("Trainee 3", "newer"), ("Trainee 0", "first"), ("Trainee 3", "older")]
