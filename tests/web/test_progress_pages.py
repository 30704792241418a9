"""The trainee's own pages at any size: a fixed number of statements each, the feed's two ways to one answer,
the points history's pages, and the indexes that serve them."""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, select, update

from app import boards, progress, teams
from app.catalogue import skill_names
from app.extensions import db
from app.models import (ActivityDay, Attempt, BadgeAward, BestResult, KudosEvent, LibraryEntry, PointsEntry,
                        RetryRequest, SkillScore, User)
from app.rewards import library_facts
from app.web import progress as progress_views

from tests.web.conftest import PASSWORD

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# Statements per page, the signed-in user's (which brings the header's review count) included.
BUDGETS = {"/dashboard": 4, "/profile": 2, "/points": 2, "/points?before=1000000": 2, "/feed": 2}


@pytest.fixture
def statements(app: Flask) -> Callable[[], AbstractContextManager[list[str]]]:
    """Collect the SQL statements the app sends inside a block (transaction control left out)."""
    @contextmanager
    def collecting() -> Iterator[list[str]]:
        with app.app_context():
            engine = db.engine
        seen: list[str] = []

        def record(connection, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return collecting


def signed_in(app: Flask, username: str) -> FlaskClient:
    """A fresh client signed in as `username`."""
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code in (302, 303)
    return client


def fill_history(app: Flask, user_id: int, mentor_id: int, size: int) -> None:
    """Give a trainee `size` of everything their pages list: ledger rows, badges, attempts, days, retry requests."""
    with app.app_context():
        version_id = db.session.scalar(select(LibraryEntry.version_id)
                                       .where(LibraryEntry.content_id == "late-delivery"))
        connection = db.session.connection()
        attempt_ids = []
        for number in range(size):
            moment = START + timedelta(days=number)
            attempt_ids.append(connection.execute(insert(Attempt).values(
                user_id=user_id, version_id=version_id, content_id="late-delivery", status="finished",
                outcome="passed", points=number, step_count=2, actions=[], started_at=moment, finished_at=moment,
            ).returning(Attempt.id)).scalar())
            connection.execute(insert(PointsEntry).values(
                user_id=user_id, key=f"test:{user_id}:{number}", amount=number + 1, reason=f"Row {number}",
                created_at=moment))
            connection.execute(insert(BadgeAward).values(
                user_id=user_id, badge_id=f"badge-{number}", name=f"Badge {number}", description="", icon="star",
                awarded_at=moment))
            connection.execute(insert(ActivityDay).values(user_id=user_id, day=moment.date()))
        for attempt_id in attempt_ids[:size // 2]:
            connection.execute(insert(RetryRequest).values(
                attempt_id=attempt_id, trainee_id=user_id, mentor_id=mentor_id, content_id="late-delivery",
                note="Once more", created_at=START))
        connection.execute(insert(BestResult).values(user_id=user_id, content_id="late-delivery", points=size,
                                                     outcome="passed", attempt_id=attempt_ids[-1], skills={}))
        connection.execute(insert(SkillScore).values(user_id=user_id, skill_id="empathy", points=size,
                                                     reached_at=START))
        connection.execute(update(User).where(User.id == user_id).values(
            points_total=sum(range(1, size + 1)), points_reached_at=START + timedelta(days=size)))
        db.session.commit()


def post_events(app: Flask, authors: list[int], count: int, actor_id: int | None = None) -> None:
    """`count` feed events taking turns among the authors, a minute apart, some of them shout-outs."""
    with app.app_context():
        for number in range(count):
            author = authors[number % len(authors)]
            shout_out = number % 4 == 1
            db.session.execute(insert(KudosEvent).values(
                user_id=author, kind="shoutout" if shout_out else "badge", ref=f"ref-{number}",
                text=f"Event {number}", actor_id=actor_id if shout_out else None,
                created_at=START + timedelta(minutes=number)))
        db.session.commit()


# A fixed number of statements per page, however much the trainee has done


@pytest.mark.parametrize("page", sorted(BUDGETS))
def test_each_page_sends_the_same_few_statements_for_a_new_and_a_busy_trainee(app, make_user, statements, page):
    mentor = make_user("mentor", "mentor", display_name="Mehmet Mentor")
    fresh, busy = make_user("fresh"), make_user("busy")
    fill_history(app, busy, mentor, 60)
    with app.app_context():
        team = teams.create_team("Desk")
        for name in ("fresh", "busy"):
            teams.add_member(team, name)
    post_events(app, [fresh, busy], 70, actor_id=mentor)
    counts = {}
    for username in ("fresh", "busy"):
        client = signed_in(app, username)
        assert client.get(page).status_code == 200     # caches of parsed content filled, as in a running app
        with statements() as seen:
            assert client.get(page).status_code == 200
        counts[username] = len(seen)
    # The retry banner looks the requests up only for a trainee who has some (the busy one).
    banner = 1 if page == "/dashboard" else 0
    assert counts["fresh"] + banner == counts["busy"] <= BUDGETS[page], counts


def test_the_busy_trainees_pages_show_what_was_filled(app, make_user):
    mentor = make_user("mentor", "mentor", display_name="Mehmet Mentor")
    busy = make_user("busy")
    fill_history(app, busy, mentor, 60)
    client = signed_in(app, "busy")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert dashboard.count('data-testid="badge-earned"') == progress.DASHBOARD_BADGES
    assert 'data-badge="badge-59"' in dashboard and 'data-badge="badge-53"' not in dashboard   # newest first
    assert dashboard.count("Once more") == 30 and dashboard.count("Mehmet Mentor") == 30
    assert dashboard.count("/attempts/") >= progress.DASHBOARD_ATTEMPTS
    assert 'data-testid="dashboard-points">1830<' in dashboard
    assert client.get("/profile").get_data(as_text=True).count('data-testid="badge-earned"') == 60


# The points history


def test_points_history_pages_by_row_id_fifty_rows_at_a_time(app, make_user):
    mentor, busy = make_user("mentor", "mentor"), make_user("busy")
    fill_history(app, busy, mentor, 120)
    client = signed_in(app, "busy")
    first = client.get("/points").get_data(as_text=True)
    assert first.count('data-testid="ledger-row"') == 50 and "Your total is 7260 points" in first
    assert "Row 119" in first and "Row 70" in first and "Row 69" not in first
    assert "<td>2026-06-29 09:00</td>" in first and '"gain">+120<' in first
    with app.app_context():
        boundary = db.session.scalar(select(PointsEntry.id).where(PointsEntry.reason == "Row 70"))
    assert f"/points?before={boundary}" in first
    second = client.get(f"/points?before={boundary}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.lstrip().startswith("<tr") and second.count('data-testid="ledger-row"') == 50
    assert "Row 69" in second and "Row 20" in second and "Row 19" not in second
    with app.app_context():
        last_boundary = db.session.scalar(select(PointsEntry.id).where(PointsEntry.reason == "Row 20"))
    last = client.get(f"/points?before={last_boundary}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert last.count('data-testid="ledger-row"') == 20 and "Older entries" not in last


# The feed: one page of the newest events, whichever way it is read


@pytest.fixture
def desk(app: Flask, make_user: Callable[..., int]) -> dict[str, int]:
    """A team with the viewer, a teammate, a hidden one, a deactivated one and a mentor; a stranger elsewhere."""
    people = {name: make_user(name, role, display_name=name.title())
              for name, role in (("ayse", "trainee"), ("mate", "trainee"), ("shy", "trainee"),
                                 ("gone", "trainee"), ("coach", "mentor"), ("stranger", "trainee"))}
    with app.app_context():
        desk_id, far_id = teams.create_team("Desk"), teams.create_team("Far")
        for name in ("ayse", "mate", "shy", "gone", "coach"):
            teams.add_member(desk_id, name)
        teams.add_member(far_id, "stranger")
        progress.set_hidden(people["shy"], True)
        db.session.execute(update(User).where(User.id == people["gone"]).values(active=False))
        db.session.commit()
    people.update(desk=desk_id, far=far_id)
    return people


def expected_feed(app: Flask, authors: set[int]) -> list[tuple[str, str]]:
    """The newest page of these authors' events, straight from the table: (author name, text) pairs."""
    with app.app_context():
        rows = db.session.execute(
            select(User.display_name, KudosEvent.text).join(User, User.id == KudosEvent.user_id)
            .where(KudosEvent.user_id.in_(authors))
            .order_by(KudosEvent.created_at.desc(), KudosEvent.id.desc()).limit(progress.FEED_SIZE)).all()
    return [(name, text) for name, text in rows]


@pytest.mark.parametrize("member_by_member_up_to", [0, 10_000], ids=["newest first", "member by member"])
def test_a_team_feed_is_its_shown_members_newest_page_either_way(app, desk, monkeypatch, member_by_member_up_to):
    monkeypatch.setattr(progress, "MEMBER_BY_MEMBER_UP_TO", member_by_member_up_to)
    post_events(app, [desk[name] for name in ("ayse", "mate", "shy", "gone", "coach", "stranger")], 180,
                actor_id=desk["coach"])
    with app.app_context():
        # At the same moment as the team's newest event ("Event 175", Mate's): the later row comes first.
        db.session.execute(insert(KudosEvent).values(user_id=desk["mate"], kind="course", ref="tie", text="Tie",
                                                     created_at=START + timedelta(minutes=175)))
        db.session.commit()
        viewer = db.session.get(User, desk["ayse"])
        feed = progress.team_feed(viewer)
        chosen = progress.team_feed(viewer, desk["desk"])
    want = expected_feed(app, {desk["ayse"], desk["mate"]})
    assert [(item.name, item.text) for item in feed.items] == want
    assert [(item.name, item.text) for item in chosen.items] == want
    assert len(want) == progress.FEED_SIZE and want[:2] == [("Mate", "Tie"), ("Mate", "Event 175")]
    assert {item.actor for item in feed.items if item.kind == "shoutout"} == {"Coach"}
    assert [team.name for team in feed.teams] == ["Desk"]


def test_the_feed_of_everyone_is_for_mentors_and_trainees_without_a_team(app, desk, make_user):
    loner = make_user("loner", display_name="Loner")
    post_events(app, [desk[name] for name in ("ayse", "mate", "shy", "gone", "coach", "stranger")] + [loner], 70)
    want = expected_feed(app, {desk["ayse"], desk["mate"], desk["stranger"], loner})
    with app.app_context():
        for name in ("coach", "loner"):
            feed = progress.team_feed(db.session.get(User, desk.get(name, loner)))
            assert [(item.name, item.text) for item in feed.items] == want, name
        stranger_team = progress.team_feed(db.session.get(User, desk["coach"]), desk["far"])
    assert {item.name for item in stranger_team.items} == {"Stranger"}


@pytest.mark.parametrize("member_by_member_up_to", [0, 10_000], ids=["newest first", "member by member"])
def test_an_anonymous_feed_names_only_the_viewer(app, desk, monkeypatch, member_by_member_up_to):
    monkeypatch.setattr(progress, "MEMBER_BY_MEMBER_UP_TO", member_by_member_up_to)
    post_events(app, [desk["ayse"], desk["mate"]], 10, actor_id=desk["coach"])
    with app.app_context():
        boards.set_board_mode("anonymous")
        items = progress.team_feed(db.session.get(User, desk["ayse"])).items
    assert {item.name for item in items} == {"Ayse", None}
    page = signed_in(app, "ayse").get("/feed").get_data(as_text=True)
    assert "Mate" not in page and "Ayse earned the badge Event 0" in page
    assert "A teammate earned the badge Event 3" in page and "Coach to A teammate:" in page


def test_a_trainees_teams_come_with_their_sizes_which_choose_the_feeds_plan(app, desk, monkeypatch):
    with app.app_context():
        ayse, coach = db.session.get(User, desk["ayse"]), db.session.get(User, desk["coach"])
        assert [(team.name, team.members) for team in teams.visible_teams(ayse, count_members=True)] == [("Desk", 5)]
        assert [(team.name, team.members) for team in teams.visible_teams(coach, count_members=True)] == \
            [("Desk", 5), ("Far", 1)]
        assert [team.members for team in teams.visible_teams(ayse)] == [None]
        chosen = []
        monkeypatch.setattr(progress, "kudos_feed", lambda user, scope, memberships=None: chosen.append(
            (scope, memberships)) or [])
        progress.team_feed(ayse)
        progress.team_feed(coach, desk["far"])
    assert chosen == [([desk["desk"]], 5), ([desk["far"]], None)]


def test_a_trainees_teams_come_with_the_signed_in_user_as_the_teams_query_lists_them(app, desk):
    with app.app_context():
        for name in ("Zeta", "alpha", "Çağrı", "Ödeme", "مشتریان"):
            teams.add_member(teams.create_team(name), "ayse")
        ayse = db.session.get(User, desk["ayse"])
        token, direct = ayse.session_token, teams.visible_teams(ayse, count_members=True)
    assert len(direct) == 6 and ("Desk", 5) in [(team.name, team.members) for team in direct]
    with app.test_request_context("/leaderboards"):
        user = teams.signed_in_with_teams(desk["ayse"], token, {})
        assert user is not None and user.id == desk["ayse"]
        assert teams.visible_teams(user, count_members=True) == direct
        assert teams.signed_in_with_teams(desk["ayse"], token, {}) is not None
        assert teams.visible_teams(user) == [teams.TeamName(team.id, team.name) for team in direct]
        assert teams.signed_in_with_teams(desk["ayse"], "a revoked token", {}) is None


def test_boards_and_feed_read_a_trainees_teams_with_the_user(app, desk, statements):
    client = signed_in(app, "ayse")
    for page in ("/leaderboards", "/feed", f"/leaderboards?team={desk['desk']}"):
        assert client.get(page).status_code == 200
        with statements() as seen:
            assert client.get(page).status_code == 200
        assert not [sql for sql in seen if sql.startswith("SELECT teams.id")], page
    assert client.get(f"/leaderboards?team={desk['far']}").status_code == 404


def test_feed_sentences_escape_every_name_and_text_they_fill_in(app):
    moment = datetime(2026, 3, 9, 14, 30, tzinfo=timezone.utc)
    items = [progress.FeedItem("badge", "b", "<i>Star</i>", "A&B", None, moment),
             progress.FeedItem("course", "c", "Care & <b>Tone</b>", None, None, moment),
             progress.FeedItem("shoutout", "s", "<script>x</script>", "Ayse", "<Coach>", moment),
             progress.FeedItem("shoutout", "s", "Well done", None, None, moment)]
    with app.test_request_context("/feed"):
        lines = progress_views.feed_lines(items)
    assert [str(line.message) for line in lines] == [
        "A&amp;B earned the badge &lt;i&gt;Star&lt;/i&gt;",
        "A teammate finished the course Care &amp; &lt;b&gt;Tone&lt;/b&gt;",
        "&lt;Coach&gt; to Ayse: <q>&lt;script&gt;x&lt;/script&gt;</q>",
        "A mentor to A teammate: <q>Well done</q>"]
    assert {(line.iso_time, line.day) for line in lines} == {("2026-03-09T14:30:00+00:00", "2026-03-09")}
    assert [line.kind for line in lines] == ["badge", "course", "shoutout", "shoutout"]


def test_a_team_outside_the_viewers_is_not_found(app, desk):
    client = signed_in(app, "ayse")
    assert client.get(f"/feed?team={desk['far']}").status_code == 404
    assert client.get(f"/feed?team={desk['desk']}").status_code == 200


# The indexes behind the pages (SQLite's plans; PostgreSQL chooses by its statistics)


def plan(app: Flask, statement, **values) -> str:
    """SQLite's query plan for a statement with these values, as one string."""
    with app.app_context():
        connection = db.session.connection()
        sql = str(statement.params(**values).compile(connection, compile_kwargs={"literal_binds": True}))
        return "\n".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


def test_sqlite_plans_read_one_page_by_the_indexes_built_for_them(app, desk):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's plans")
    newest_first = "SCAN kudos_events USING COVERING INDEX kudos_newest_first"
    walk = plan(app, progress._BIG_TEAMS_PAGE, team_ids=[desk["desk"]])
    assert newest_first in walk and "TEMP B-TREE" not in walk, walk
    everyone = plan(app, progress._EVERYONES_PAGE)
    assert newest_first in everyone and "TEMP B-TREE" not in everyone, everyone
    by_member = plan(app, progress._SMALL_TEAMS_PAGE, team_ids=[desk["desk"]])
    assert "SEARCH kudos_events USING COVERING INDEX kudos_by_author (user_id=?)" in by_member, by_member
    history = plan(app, progress._ROWS_BEFORE, user_id=desk["ayse"], before=10)
    assert "ledger_by_user (user_id=? AND id<?)" in history and "TEMP B-TREE" not in history, history


def test_the_library_facts_carry_the_skill_names_pages_show(app):
    with app.app_context():
        names = skill_names()
        assert names and dict(library_facts().skill_names) == names


def test_held_badges_come_with_the_standing_newest_first_ties_by_id(app, make_user):
    user_id = make_user("ayse")
    with app.app_context():
        for badge_id, moment in (("b-2", START), ("b-1", START), ("b-3", START), ("b-0", START - timedelta(days=1)),
                                 ("b-9", START + timedelta(days=1))):
            db.session.execute(insert(BadgeAward).values(user_id=user_id, badge_id=badge_id, name=f"Name {badge_id}",
                                                         description="", icon=None, awarded_at=moment))
        db.session.commit()
    profile = signed_in(app, "ayse").get("/profile").get_data(as_text=True)
    order = [profile.index(f'data-badge="{badge_id}"') for badge_id in ("b-9", "b-1", "b-2", "b-3", "b-0")]
    assert order == sorted(order)
    assert "Name b-9" in profile


def test_board_rows_escape_names_mark_the_viewer_and_hide_anonymous_ones(app: Flask) -> None:
    rows = [boards.Row(1, 7, "<b>Ayşe</b> & co", 40), boards.Row(2, 8, None, 30),
            boards.Row(3, 9, "Mehmet", 20, is_viewer=True)]
    with app.test_request_context():
        html = str(progress_views.board_rows(rows))
    first, anonymous, mine = html.split("\n")
    assert first == ('<tr class="" data-testid="board-row" data-user="7"><td>1</td>'
                     "<td>&lt;b&gt;Ayşe&lt;/b&gt; &amp; co</td><td>40</td></tr>")
    assert "data-user" not in anonymous and "<td>Anonymous trainee</td><td>30</td>" in anonymous
    assert mine.startswith('<tr class="me"') and "<strong>Mehmet</strong> (you)" in mine


def test_ledger_rows_escape_reasons_and_sign_amounts(app: Flask) -> None:
    moment = datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc)
    entries = [progress.LedgerRow(2, 15, "Improved best result: <i>Refund</i> & more", moment),
               progress.LedgerRow(1, -3, "Grade lowered", moment)]
    with app.test_request_context():
        gain, loss = str(progress_views.ledger_rows(entries)).split("\n")
    assert gain == ('<tr data-testid="ledger-row"><td>2026-03-02 09:05</td>'
                    '<td>Improved best result: &lt;i&gt;Refund&lt;/i&gt; &amp; more</td><td class="gain">+15</td></tr>')
    assert loss.endswith('<td>Grade lowered</td><td class="loss">-3</td></tr>')
