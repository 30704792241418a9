"""Analytics against a hand-made dataset: rates, points, skills, time, choices, avoided phrases, drop-off, CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from app import analytics
from app.attempts import Action, act, restart_attempt, start_attempt
from app.csv_export import csv_bytes, safe_cell

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
RUDE_REPLY = "=Sorry, I can't help, not my problem really"
SVG = "{http://www.w3.org/2000/svg}"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def dataset(app, make_user, monkeypatch):
    """Four trainees at late-delivery (pass_points 20):
    A passes in 4 min (acknowledge +10, reply with "I will" 5+5 = 20 points, empathy +2, positive-language +1);
    B fails in 2 min (blame -5, points floor at 0, ends at 'escalation');
    C completes in 6 min without passing (acknowledge +10, a reply hitting the avoid phrase "I can't": 5-5 = 10);
    D acknowledges, then leaves (restart abandons the attempt at 'check'; the new attempt stays running).
    """
    clock = Clock()
    monkeypatch.setattr("app.clock.now", clock)
    ids = {name: make_user(f"trainee-{name}", "trainee") for name in ("a", "b", "c", "d")}
    plays = {"a": (4, ["acknowledge", "reply:I will refund it today for you"]), "b": (2, ["blame"]),
             "c": (6, ["acknowledge", f"reply:{RUDE_REPLY}"])}
    with app.app_context():
        for name, (minutes, actions) in plays.items():
            clock.now = T0
            attempt = start_attempt(ids[name], "late-delivery")
            clock.now = T0 + timedelta(minutes=minutes)
            for number, action in enumerate(actions, start=1):
                act(ids[name], attempt, number, Action.parse(action))
        attempt = start_attempt(ids["d"], "late-delivery")
        act(ids["d"], attempt, 1, Action("choose", "acknowledge"))
        restart_attempt(ids["d"], attempt)
    return ids


def test_scenario_figures_match_the_hand_made_dataset(app, dataset):
    with app.app_context():
        report = analytics.scenario_report("late-delivery")
    summary = report.summary
    assert (summary.attempts, summary.finished, summary.passed, summary.failed) == (5, 3, 1, 1)
    assert summary.completion_rate == pytest.approx(3 / 5) and summary.pass_rate == pytest.approx(1 / 3)
    assert summary.average_points == pytest.approx(10)
    assert [(b.low, b.high, b.count) for b in summary.distribution] == [
        (0, 2, 1), (3, 5, 0), (6, 8, 0), (9, 11, 1), (12, 14, 0), (15, 17, 0), (18, 20, 1)]
    assert dict(summary.average_skills) == pytest.approx({"empathy": 4 / 3, "positive-language": 1 / 3})
    assert summary.average_minutes == pytest.approx(4) and summary.median_minutes == pytest.approx(4)
    tables = report.tables
    assert tables["chosen"].rows[0] == ("opening", "acknowledge",
                                        "I'm so sorry, that is really frustrating. Let me look right now.", 10, 3)
    assert tables["chosen"].rows[1][:2] == ("opening", "blame") and tables["chosen"].rows[1][-1] == 1
    assert [row[:2] + row[-1:] for row in tables["regretted"].rows] == [("opening", "blame", 1)]
    assert tables["avoid-phrases"].rows == [("check", "I can't", 1, 2)]
    assert tables["avoid-replies"].rows == [(RUDE_REPLY, "check", "I can't", 1)]
    assert tables["dropoff"].rows == [("check", 1), ("escalation", 1)]


def test_traffic_map_shows_real_choice_counts_and_dropoff(app, dataset):
    with app.app_context():
        traffic = analytics.scenario_traffic("late-delivery")
        report = analytics.scenario_report("late-delivery")
    assert traffic.edges == {("opening", "acknowledge"): 3, ("opening", "blame"): 1, ("check", "reply"): 2}
    assert traffic.dropoff == {"escalation": 1, "check": 1}
    tree = ET.fromstring(report.traffic_map)
    notes = {g.get("data-key"): g.find(f"{SVG}text[@class='edge-note']").text
             for g in tree.iter(f"{SVG}g") if g.get("class") == "edge"}
    assert notes["acknowledge"].endswith("3×") and notes["reply"] == "2×"


def test_course_figures(app, dataset, trainee):
    trainee.get("/courses/first-week/lessons/1")
    with app.app_context():
        report = analytics.course_report("first-week")
    assert report.started == 5 and report.completed == 0 and report.completion_rate == 0
    assert [row[3] for row in report.tables["modules"].rows] == [1, 1, 0, 0]


def staff(app, make_user):
    make_user("teacher", "trainer")
    client = app.test_client()
    client.post("/login", data={"username": "teacher", "password": "correct horse battery staple"})
    return client


def test_analytics_pages_show_figures_charts_and_tables(app, dataset, make_user):
    client = staff(app, make_user)
    index = client.get("/analytics").get_data(as_text=True)
    assert "/analytics/scenarios/late-delivery" in index and "/analytics/courses/first-week" in index
    page = client.get("/analytics/scenarios/late-delivery").get_data(as_text=True)
    assert '<div class="figure" data-testid="figure-pass">Pass rate<strong>33%</strong>' in page
    assert "Completion rate<strong>60%</strong>" in page
    assert page.count('class="chart"') == 3 and 'data-testid="traffic-map"' in page
    assert "=Sorry, I can&#39;t help" in page  # trainee text is escaped, not markup
    assert client.get("/analytics/courses/first-week").status_code == 200
    assert client.get("/analytics/scenarios/nope").status_code == 404
    assert client.get("/analytics/scenarios/first-week").status_code == 404  # a course is not a scenario
    assert client.get("/analytics/courses/late-delivery").status_code == 404
    assert client.get("/analytics/scenarios/late-delivery/nope.csv").status_code == 404
    case = client.get("/analytics/scenarios/loyalty-case").get_data(as_text=True)
    assert 'data-testid="traffic-map"' not in case  # a case study has no graph


def test_csv_download_is_utf8_with_bom_and_escapes_formulas(app, dataset, make_user):
    client = staff(app, make_user)
    response = client.get("/analytics/scenarios/late-delivery/avoid-replies.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="late-delivery-avoid-replies.csv"' in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Reply", "Step", "Phrases", "Times"]
    assert rows[1] == ["'" + RUDE_REPLY, "check", "I can't", "1"]


def test_csv_cells_starting_like_formulas_are_escaped_and_text_survives():
    data = csv_bytes(("name", "note"), [("=1+1", "+31 555"), ("-2", "@SUM(A1)"), ("Ayşe", "گوش دادن"),
                                        (-5, None), ("a=b", "safe-text")])
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")[1:])))
    assert rows == [["name", "note"], ["'=1+1", "'+31 555"], ["'-2", "'@SUM(A1)"], ["Ayşe", "گوش دادن"],
                    ["-5", ""], ["a=b", "safe-text"]]
    assert safe_cell("\t=cmd") == "'\t=cmd" and safe_cell(3) == 3
