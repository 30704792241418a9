"""The bundled starter library validates cleanly and every scenario has a path that passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.library import Library
from app.engine.model import Scenario
from app.engine.play import play
from app.engine.validate import validate

ROOT = Path(__file__).resolve().parents[2]

PASSING_PATHS = {
    "angry-customer": ["acknowledge", "reply:I'm sorry, Mr Reid. I understand: you were charged twice and nobody "
                       "called back as promised. Let me check your account right now and I will fix it.",
                       "fix-it", "commit", "thank-him"],
    "late-delivery-refund": ["empathise", "options", "confirm", "reply:You're right, that's fair. I'll refund the "
                             "£6.95 delivery charge today; it will reach your card within 3 working days.",
                             "close-warm"],
    "cancel-subscription": ["ask-why", "reply:So it's just you now and half of the box for two goes to waste. I can "
                            "switch you to a smaller single plan, would that help?", "single-plan", "no-lock-in",
                            "confirm-switch"],
    "olumlu-dil": ["olumlu-acilis", "reply:Geçmiş olsun Zeynep Hanım, anlıyorum. Makineniz garanti kapsamında; "
                   "ücretsiz onarım ya da değişim sağlayabilirim. Yarın kurye gönderebilirim.", "garanti-sor",
                   "net-anlat", "kurye", "yedek", "ozet"],
    "uyelik-iptali": ["neden-sor", "reply:Anladım, yeni işten akşam dokuzda çıkıyorsunuz ve Kadıköy şubesine "
                      "yetişemiyorsunuz. Ofisinize yakın 7/24 açık bir şubemiz var, size önerebilirim.", "levent",
                      "risk-yok", "onayla"],
    "active-listening-fa": ["sokoot", "reply:اگر درست متوجه شده باشم، نصاب دو بار نیامده، امروز مرخصی گرفته‌اید و "
                            "فاکتور هم به آدرس قبلی رفته است. درست است؟ من می‌توانم همین حالا همه را پیگیری کنم.",
                            "soal-baz", "yaddasht", "hal", "kamel", "peygiri"],
    "loyalty-programme-case": ["1", "2", "3", "3", "reply:First we should reply to every one of the 410 complaints "
                               "and apologise, then send a reminder notification two weeks before points expire. "
                               "Over the next three months I would track NPS, CSAT and the retention rate of "
                               "members who complained."],
    "customer-segmentation-case": ["3", "2", "3", "2", "reply:Send Segment B personalised recommendations based on "
                                   "their purchase history in the categories they already buy. I would measure it "
                                   "by comparing repeat purchase rate and CLTV against a control group of B "
                                   "customers over six months."],
}


def bundled_scenarios() -> dict[str, Scenario]:
    library = Library(ROOT)
    scenarios = {}
    for path in library.files:
        report = library.check(path)
        if isinstance(report.content, Scenario):
            scenarios[report.content.id] = report.content
    return scenarios


def test_the_bundled_library_has_no_error_and_no_warning():
    reports = validate([], ROOT)
    assert len(reports) >= 10
    assert [p.format(r.display) for r in reports for p in r.problems] == []


def test_the_library_covers_what_new_staff_need():
    scenarios = bundled_scenarios()
    roleplays = [s for s in scenarios.values() if not s.is_case_study]
    assert len(roleplays) >= 5 and sum(s.is_case_study for s in scenarios.values()) >= 2
    assert {"tr", "fa"} <= {s.language for s in roleplays}
    assert set(PASSING_PATHS) == set(scenarios), "give every bundled scenario a passing path here"


@pytest.mark.parametrize("scenario_id", sorted(PASSING_PATHS))
def test_every_scenario_has_a_path_that_passes(scenario_id: str):
    result = play(bundled_scenarios()[scenario_id], PASSING_PATHS[scenario_id])
    assert result.outcome == "passed", (result.points, result.ending)
