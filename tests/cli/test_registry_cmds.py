import sqlite3


def test_help_explains_the_commands_in_workflow_panels(run_vertebro):
    result = run_vertebro("--help", check=True)
    for command in ("demo", "init", "db", "manage", "synth", "import", "export", "analyze", "report", "serve"):
        assert f"│ {command} " in result.stdout
    panels = [line.split("─ ")[1].split(" ─")[0] for line in result.stdout.splitlines() if line.startswith("╭─ ")]
    assert panels == ["Options", "Start here", "Registry", "Data in and out", "The study's answer", "Web app", "Patient-reported follow-up"]


def test_init_then_check_is_clean(run_vertebro, tmp_path):
    assert "Registry ready" in run_vertebro("init", check=True).stdout
    assert (tmp_path / "registry.sqlite3").exists()
    result = run_vertebro("db", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The registry is consistent" in result.stdout


def test_check_finds_a_score_outside_its_window_and_exits_nonzero(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    now = "2024-01-01 00:00:00"
    db.executescript(f"""
        INSERT INTO registry_site (code, name) VALUES ('S', 'S');
        INSERT INTO registry_patient (version, created_at, updated_at, study_id, site_id, sex, age_at_index)
            VALUES (1, '{now}', '{now}', 'VP1', 1, 'F', 70);
        INSERT INTO registry_procedure (version, created_at, updated_at, patient_id, performed_on, kind, operator, approach, biopsy_taken, void_reason)
            VALUES (1, '{now}', '{now}', 1, '2012-06-15', 'vertebroplasty', '', 'bipedicular', 0, '');
        INSERT INTO registry_painassessment (version, created_at, updated_at, patient_id, procedure_id, assessed_on, score, instrument, timepoint, source, void_reason)
            VALUES (1, '{now}', '{now}', 1, 1, '2012-09-01', 3, 'vps', '1w', 'staff', '');
    """)
    db.commit()
    result = run_vertebro("db", "check")
    assert result.returncode == 1
    assert "lies in its window" in result.stdout and "failed 1 integrity check" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_finds_a_procedure_before_birth_and_exits_nonzero(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    now = "2024-01-01 00:00:00"
    db.executescript(f"""
        INSERT INTO registry_site (code, name) VALUES ('S', 'S');
        INSERT INTO registry_patient (version, created_at, updated_at, study_id, site_id, sex, birth_date)
            VALUES (1, '{now}', '{now}', 'VP1', 1, 'F', '2019-06-01');
        INSERT INTO registry_procedure (version, created_at, updated_at, patient_id, performed_on, kind, operator, approach, biopsy_taken, void_reason)
            VALUES (1, '{now}', '{now}', 1, '2014-06-15', 'vertebroplasty', '', 'bipedicular', 0, '');
    """)
    db.commit()
    result = run_vertebro("db", "check")
    assert result.returncode == 1
    assert "before the patient's date of birth" in result.stdout and "failed 1 integrity check" in result.stderr


def test_unreachable_database_is_one_sentence_without_traceback(run_vertebro):
    result = run_vertebro("db", "check", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot open the registry database")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(run_vertebro):
    result = run_vertebro("--debug", "db", "check", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_unknown_command_is_a_usage_error(run_vertebro):
    result = run_vertebro("frobnicate")
    assert result.returncode == 2 and "No such command" in result.stderr


def test_manage_runs_django_commands(run_vertebro):
    result = run_vertebro("manage", "check", check=True)
    assert "System check identified no issues" in result.stdout


def test_check_notices_a_history_table_whose_triggers_were_dropped(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    db.executescript("DROP TRIGGER registry_historicalsite_no_update; DROP TRIGGER registry_historicalsite_no_delete;")
    db.commit()
    result = run_vertebro("db", "check")
    text = " ".join(result.stdout.split())
    assert result.returncode == 1 and "registry_historicalsite_no_update missing" in text and "vertebro db protect" in text


def test_check_notices_one_of_a_tables_two_triggers_dropped_and_protect_restores_it(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    db.execute("DROP TRIGGER registry_historicalpatient_no_delete")  # the table still has its UPDATE trigger
    db.commit()
    db.close()
    result = run_vertebro("db", "check")
    assert result.returncode == 1 and "registry_historicalpatient_no_delete missing" in " ".join(result.stdout.split())
    assert run_vertebro("db", "protect").returncode == 0
    assert run_vertebro("db", "check").returncode == 0


def test_help_paragraphs_flow_to_the_terminal_width_not_the_sources_line_breaks(run_vertebro):
    from vertebro.cli import reflow

    assert reflow("""One line
        and its continuation.

        - an item
        - another
        """) == "One line and its continuation.\n\n- an item\n- another"
    text = run_vertebro("import", "--help", env={"COLUMNS": "80"}).stdout
    lines = [line.rstrip() for line in text.splitlines()]
    every = lines[lines.index(next(l for l in lines if "Every row is checked" in l)):]
    paragraph = every[: every.index("")]
    assert all(len(line) >= 60 for line in paragraph[:-1])  # full lines up to the paragraph's last
