"""End to end: `vertebro invitations send` mails a real SMTP server on 127.0.0.1 (aiosmtpd), the
patient follows the delivered link in Chromium at phone width (390 px), answers both questions, and
the score is in the registry (source patient), its history (the patient, through the invitation) and
the analysis restricted to patient-reported scores."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from served_app import chromium, registry_env, require_chromium, served, vertebro  # noqa: E402

from .conftest import Inbox, free_port  # noqa: E402

pytestmark = pytest.mark.browser
SEED = Path(__file__).with_name("seed_due.py")


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def test_a_patient_answers_on_a_phone_from_the_mailed_link(tmp_path, smtp_server):
    require_chromium()
    env = registry_env(tmp_path)
    vertebro(env, "init")
    seeded = subprocess.run([sys.executable, str(SEED), "3"], env=env, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    with served(tmp_path, env) as server:
        mail_env = env | {"VERTEBRO_EMAIL_BACKEND": "smtp", "VERTEBRO_EMAIL_HOST": "127.0.0.1",
                          "VERTEBRO_EMAIL_PORT": str(smtp_server.port), "VERTEBRO_PUBLIC_URL": server["base"]}
        out = vertebro(mail_env, "invitations", "send")
        assert re.search(r"invitations sent\s*│\s*3", out), out
        [body] = [m.get_content() for to, m in smtp_server.messages if "p0@example.org" in to]
        assert body.startswith("Hello Pat0,") and "Doe" not in body
        link = re.search(re.escape(server["base"]) + r"/r/[A-Za-z0-9_-]{43}(?=\s)", body).group(0)

        with chromium() as browser:
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.goto(link)
            assert "Question 1 of 2" in page.inner_text("main") and "Doe" not in page.content()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
            target = page.locator(".choice span").first.bounding_box()
            assert target["height"] >= 48 and target["width"] >= 48  # large touch targets
            assert page.locator("a").count() == 0  # nothing else of the registry is reachable
            page.locator(".choice", has_text="7").first.tap()
            page.tap("button:has-text('Next')")
            page.wait_for_selector("text=Question 2 of 2")
            page.locator(".choice", has_text="Yes").tap()
            page.tap("button:has-text('Send my answers')")
            page.wait_for_selector("text=Thank you")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.goto(link)
            assert "no longer works" in page.inner_text("main")  # used
            context.close()

    with sqlite3.connect(tmp_path / "registry.sqlite3") as db:
        score, source, timepoint, recurrent = db.execute(
            "SELECT pa.score, pa.source, pa.timepoint, fu.recurrent_pain FROM registry_painassessment pa "
            "JOIN registry_followup fu ON fu.id = pa.follow_up_id JOIN registry_patient pt ON pt.id = pa.patient_id "
            "WHERE pt.study_id = 'P000000'").fetchone()
        assert (score, source, timepoint, recurrent) == (7.0, "patient", "1m", 1)
        [(reason, user)] = db.execute("SELECT history_change_reason, history_user_id FROM registry_historicalpainassessment WHERE source = 'patient'").fetchall()
        assert reason.startswith("answered by the patient through invitation ") and user is None
    result = json.loads(vertebro(env, "analyze", "--source", "patient", "--json"))
    month = next(tp for tp in result["timepoints"] if tp["timepoint"] == "1m")
    assert month["groups"]["osteoporotic"]["n"] == 1
    assert month["groups"]["osteoporotic"]["followup_mean"] == pytest.approx(7.0)
    assert month["groups"]["osteoporotic"]["improvement_mean"] == pytest.approx(1.0)  # baseline 8, the patient said 7
