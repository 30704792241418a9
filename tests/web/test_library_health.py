"""The library health page: every file with its problems and stats, and each role-play's branch map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def trainer(app, make_user):
    make_user("teacher", "trainer")
    client = app.test_client()
    client.post("/login", data={"username": "teacher", "password": "correct horse battery staple"})
    return client


def row(page: str, path: str) -> list[str]:
    match = re.search(rf'<tr data-testid="file-{re.escape(path)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, path
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def test_every_file_is_listed_with_problems_and_stats(trainer):
    page = trainer.get("/library/problems").get_data(as_text=True)
    # late-delivery: 4 nodes, 2 endings; best 10 + 5 + 5 = 20, worst blame -5 floored at 0
    assert row(page, "scenarios/late-delivery.yaml") == [
        "scenarios/late-delivery.yaml", "Role-play", "A third late delivery", "0", "0", "4", "2", "20", "0", "Open"]
    broken = row(page, "scenarios/broken.yaml")
    assert broken[0].startswith("scenarios/broken.yaml") and "skipped" in broken[0] and broken[3] == "1"
    assert row(page, "courses/first-week.yaml")[1:3] == ["Course", "Your first week"]
    assert row(page, "scenarios/loyalty-case.yaml")[9] == "–"  # a case study has no branch map
    assert "scenarios/broken.yaml:6:26" in page and "does not exist" in page
    assert '/library/scenarios/late-delivery/map' in page
    # Every role-play's map is on the page too, one drawing each.
    assert 'data-testid="map-late-delivery"' in page and 'data-testid="map-persian-listening"' in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="branch-map"') == 2


def test_branch_map_page_draws_the_role_play(trainer):
    page = trainer.get("/library/scenarios/late-delivery/map").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    tree = ET.fromstring(svg)
    assert len([g for g in tree.iter(f"{SVG}g") if g.get("class", "").startswith("node ")]) == 4
    assert len([g for g in tree.iter(f"{SVG}g") if g.get("class") == "edge"]) == 3
    assert "/analytics/scenarios/late-delivery" in page


def test_persian_map_labels_are_rtl(trainer):
    page = trainer.get("/library/scenarios/persian-listening/map").get_data(as_text=True)
    tree = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    labels = [t for t in tree.iter(f"{SVG}text") if t.get("class") == "edge-label"]
    assert labels and all(t.get("direction") == "rtl" and t.get("lang") == "fa" for t in labels)


def test_map_of_something_that_is_not_a_role_play_is_404(trainer):
    assert trainer.get("/library/scenarios/loyalty-case/map").status_code == 404
    assert trainer.get("/library/scenarios/first-week/map").status_code == 404
    assert trainer.get("/library/scenarios/nope/map").status_code == 404
