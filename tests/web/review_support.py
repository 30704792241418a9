"""Helpers shared by the mentoring tests: sign in, play attempts to an end, fill a grade form."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from app.content_sync import sync_library

PASSWORD = "correct horse battery staple"
LIBRARY = Path(__file__).resolve().parent / "library"
GOOD_REPLY = "I will send a replacement today and I can refund the shipping."
DEFAULT_IDS = ("empathy", "emotional-stability", "conscientiousness", "adaptability", "optimism")
HX = {"HX-Request": "true"}
REVIEWED_CASE = """\
id: reviewed-case
title: A case mentors always read
kind: case_study
language: en
review: true
rubric:
  - {id: insight, label: Insight, max: 4}
  - {id: clarity, label: Clarity}
case: A customer wants a refund after the return window closed.
questions:
  - id: q1
    ask: What do you check first?
    points: 2
    options:
      - {text: The order date, correct: true}
      - {text: The weather, feedback: Not relevant.}
"""


def sign_in(app: Flask, username: str) -> FlaskClient:
    """A new client signed in as `username`."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client


def start(client: FlaskClient, content_id: str = "late-delivery") -> int:
    """Start (or resume) a scenario and return the attempt id."""
    response = client.post(f"/library/{content_id}/start")
    assert response.status_code == 303
    match = re.search(r"/attempts/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def act(client: FlaskClient, attempt_id: int, step: int, **fields: str) -> None:
    """One play action that must be accepted."""
    response = client.post(f"/attempts/{attempt_id}/act", data={"step": str(step), **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def play_with_reply(client: FlaskClient, reply: str = GOOD_REPLY) -> int:
    """late-delivery played to a pass through its free-text turn (step 2 is the reply)."""
    attempt_id = start(client)
    act(client, attempt_id, 1, choice="acknowledge")
    act(client, attempt_id, 2, reply=reply)
    return attempt_id


def play_to_failure(client: FlaskClient) -> int:
    """late-delivery ended at once by blaming the courier: finished, failed, no written reply."""
    attempt_id = start(client)
    act(client, attempt_id, 1, choice="blame")
    return attempt_id


def grade_form(score: int = 3, revision: int = 0, ids: tuple[str, ...] = DEFAULT_IDS, **extra: str) -> dict:
    """A grade form scoring every rubric item `score`."""
    return {"revision": str(revision), **{f"score-{item}": str(score) for item in ids}, **extra}


def library_copy(tmp_path: Path) -> Path:
    """The test library copied aside, with a case study that sets `review: true` and its own rubric."""
    copy = tmp_path / "library-copy"
    shutil.copytree(LIBRARY, copy)
    (copy / "scenarios" / "reviewed-case.yaml").write_text(REVIEWED_CASE, encoding="utf-8")
    return copy


def sync(app: Flask, root: Path) -> None:
    """Sync a library folder into the app's database."""
    with app.app_context():
        sync_library(root, None)
