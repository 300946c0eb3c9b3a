import json
import os
import re
import sqlite3
import subprocess
import sys

#: Opens a link of a demo message as a phone would (Django's test client against the demo registry),
#: answers both questions and prints where the answer went.
ANSWER_THE_LINK = """
import sys
from vertebro.registry.bootstrap import setup_django
setup_django()
from django.test import Client
path = sys.argv[1]
client = Client(HTTP_HOST="127.0.0.1")
page = client.get(path)
assert page.status_code == 200 and "Question 1 of 2" in page.content.decode(), page.status_code
done = client.post(path, {"score": "3", "recurrent_pain": "no"})
print(done.status_code, done["Location"])
"""


def count(db_path, table):
    return sqlite3.connect(db_path).execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_demo_twice_leaves_one_cohort_and_writes_the_report(run_vertebro, tmp_path):
    env = {"VERTEBRO_DEMO_PASSWORD": "correct-horse-battery-staple"}
    first = run_vertebro("demo", env=env, check=True)
    db = tmp_path / "registry.sqlite3"
    assert "300 patients" in first.stdout and "created 1," in first.stdout
    assert (count(db, "registry_patient"), count(db, "registry_procedure")) == (303, 303)  # the cohort and 3 invited
    assessments = count(db, "registry_painassessment")
    history_rows = count(db, "registry_historicalpainassessment")
    responses = count(db, "registry_instrumentresponse")
    assert responses > 300 and count(db, "registry_instrumentscore") >= responses  # the instruments are in the registry
    assert count(db, "registry_analgesicentry") > 0
    assert "unchanged 0 responses" in first.stdout
    mail = tmp_path / "var" / "mail"
    delivered = "".join(path.read_text() for path in mail.glob("*.log"))
    assert "Invitations sent 3 and 0 reminders" in first.stdout and str(mail) in first.stdout
    assert sorted(re.findall(r"^To: (\S+)$", delivered, re.M)) == ["ada@example.org", "ben@example.org", "cleo@example.org"]
    link = re.search(r"open (http://127\.0\.0\.1:8000(/r/[\w-]+))$", first.stdout, re.M)
    assert link and link.group(1) in delivered  # the printed link is one a message carries

    second = run_vertebro("demo", env=env, check=True)
    assert "created 0, updated 0, unchanged 1," in second.stdout
    assert (count(db, "registry_patient"), count(db, "registry_painassessment")) == (303, assessments)
    assert "Invitations sent 0 and 0 reminders" in second.stdout  # nobody is invited twice
    assert link.group(0) in second.stdout and len(list(mail.glob("*.log"))) == 1  # the same open link, no new mail
    assert count(db, "registry_historicalpainassessment") == history_rows  # nothing changed, nothing logged
    assert f"unchanged {responses:,} responses" in second.stdout
    assert count(db, "registry_historicalinstrumentresponse") == responses  # stored once, never again
    assert count(db, "auth_user") == 7  # one demo account per role at two sites, once

    report = tmp_path / "var" / "demo" / "report" / "report.html"
    assert report.exists() and "Report:" in second.stdout
    assert "Synthetic data." in second.stdout  # the demo's own tables too
    assert '<p class="notice" role="note"><strong>Synthetic data.' in report.read_text()  # never mistaken for evidence
    later = run_vertebro("report", "--out", str(tmp_path / "later"), check=True)  # any report of this registry says so
    assert '<p class="notice" role="note"><strong>Synthetic data.' in (tmp_path / "later" / "report.html").read_text()
    assert "Synthetic data." in run_vertebro("analyze", check=True).stdout
    contract = json.loads(run_vertebro("analyze", "--json", check=True).stdout)
    instruments_file = str(tmp_path / "var" / "demo" / "instruments.csv")
    from_file = json.loads(run_vertebro("analyze", "--instruments", instruments_file, "--json", check=True).stdout)
    for measure in ("rdq", "odi", "eq5d5l_index_us", "mme_per_day"):  # the registry's stored scores are the file's
        stored, filed = contract["instruments"][measure], from_file["instruments"][measure]
        assert stored["patients"] == filed["patients"] > 250 and len(stored["timepoints"]) == len(filed["timepoints"]) > 0
        assert stored["timepoints"][0]["comparison"] == filed["timepoints"][0]["comparison"]
    assert "Oswestry" in report.read_text()
    assert "Osteoporotic minus pathologic" in second.stdout and "Power at post" in second.stdout
    assert "share the password" not in second.stdout + second.stderr  # a chosen password is never echoed

    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "VERTEBRO_HOME": str(tmp_path)}
    answered = subprocess.run([sys.executable, "-c", ANSWER_THE_LINK, link.group(2)], capture_output=True, text=True,
                              env=environment, cwd=tmp_path, timeout=120)
    assert answered.returncode == 0 and answered.stdout.split() == ["302", "/r/thanks"], answered.stderr
    stored = sqlite3.connect(db).execute(
        "SELECT a.score, a.source, a.timepoint FROM registry_painassessment a JOIN registry_patient p ON p.id = a.patient_id "
        "WHERE p.study_id LIKE 'DEMO-INV-%' AND a.source = 'patient'").fetchall()
    assert stored == [(3.0, "patient", "1m")]
    third = run_vertebro("demo", env=env, check=True)  # the answered link is never offered again
    assert link.group(0) not in third.stdout and "Answer as a patient" in third.stdout


def test_demo_refuses_a_registry_holding_other_patients(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    db.executescript("""
        INSERT INTO registry_site (code, name) VALUES ('REAL', 'A real clinic');
        INSERT INTO registry_patient (version, created_at, updated_at, study_id, site_id, sex, age_at_index)
            VALUES (1, '2024-01-01', '2024-01-01', 'REAL-001', 1, 'F', 70);
    """)
    db.commit()
    result = run_vertebro("demo")
    assert result.returncode == 1
    assert "holds 1 patients and no demo cohort" in result.stderr
    assert count(tmp_path / "registry.sqlite3", "registry_patient") == 1


def test_demo_again_after_trying_the_web_app_and_another_seed_needs_its_own_registry(run_vertebro, tmp_path):
    env = {"VERTEBRO_DEMO_PASSWORD": "correct-horse-battery-staple"}
    run_vertebro("demo", env=env, check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")  # a patient entered in the web app (no import)
    db.execute("INSERT INTO registry_patient (version, created_at, updated_at, study_id, site_id, sex, age_at_index) "
               "VALUES (1, '2024-01-01', '2024-01-01', 'WEB-001', 1, 'F', 70)")
    db.commit()
    assert "created 0, updated 0, unchanged 1," in run_vertebro("demo", env=env, check=True).stdout
    cohort = tmp_path / "var" / "demo" / "cohort.csv"
    before = cohort.read_bytes()
    other_seed = run_vertebro("demo", "--seed", "7", env=env)
    assert other_seed.returncode == 1 and "holds a demo cohort of another seed" in other_seed.stderr
    assert cohort.read_bytes() == before and not (tmp_path / "var" / "demo" / "cohort.csv.new").exists()
