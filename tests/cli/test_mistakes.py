"""Common mistakes get one sentence that says what to do next, no traceback, and leave nothing behind."""

import socket


def _error(result) -> str:  # noqa: ANN001
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_registry_that_does_not_exist_is_not_created_by_accident(run_vertebro, tmp_path):
    missing = tmp_path / "nowhere" / "registry.sqlite3"
    result = run_vertebro("site", "list", env={"DATABASE_URL": f"sqlite:///{missing}"})
    assert f"there is no registry at {missing}: run `vertebro init`" in _error(result)
    assert not missing.parent.exists()


def test_a_command_run_outside_a_registry_leaves_no_var_folder(run_vertebro, tmp_path):
    result = run_vertebro("import", "cohort.csv", env={"DATABASE_URL": "", "VERTEBRO_HOME": str(tmp_path)})
    assert "run `vertebro init`" in _error(result)
    assert not (tmp_path / "var").exists()


def test_an_uninitialised_registry_file_says_to_run_init(run_vertebro, tmp_path):
    (tmp_path / "registry.sqlite3").write_bytes(b"")
    result = run_vertebro("export", "--format", "csv", "--out", str(tmp_path / "out.csv"))
    assert "is not initialised or not up to date" in _error(result) and "run `vertebro init`" in result.stderr


def test_a_database_url_of_another_kind_is_named_without_its_password(run_vertebro):
    for url, scheme in (("mysql://admin:hunter2@db/registry", "mysql"), ("garbage", "garbage")):
        message = _error(run_vertebro("site", "list", env={"DATABASE_URL": url}))
        assert f"DATABASE_URL starts with '{scheme}': vertebro runs on SQLite" in message
        assert "hunter2" not in message


def test_files_without_rows_are_refused_by_name(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    (tmp_path / "header.csv").write_text("patient_id,site,sex,age,etiology,procedure_date,assessed_on,vps\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty.json").write_text('{"resourceType": "Bundle", "type": "collection", "entry": []}')
    assert "header.csv holds no data rows, only a header; nothing was imported" in _error(run_vertebro("import", "header.csv"))
    assert "empty.csv is empty: it needs a header line" in _error(run_vertebro("import", "empty.csv"))
    fhir = run_vertebro("import", "--format", "fhir", "empty.json")
    assert "empty.json holds no pain Observations (LOINC 72514-3); nothing was imported" in _error(fhir)


def test_serve_on_a_port_another_program_holds_says_so(run_vertebro):
    run_vertebro("init", check=True)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_vertebro("serve", "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in _error(result) and "choose another with --port" in result.stderr


def test_serve_refuses_a_port_out_of_range(run_vertebro):
    result = run_vertebro("serve", "--port", "99999")
    assert result.returncode == 2 and "less than or equal to 65535" in result.stderr


def test_a_sqlite_url_that_names_no_file_is_refused_not_kept_in_memory(run_vertebro):
    for url in ("sqlite://registry.sqlite3", "sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:"):
        message = _error(run_vertebro("init", env={"DATABASE_URL": url}))
        assert "names no file, so the registry would live in memory and vanish" in message, url


def test_a_malformed_setting_is_named_with_what_it_should_be(run_vertebro):
    number = _error(run_vertebro("site", "list", env={"VERTEBRO_SESSION_IDLE_MINUTES": "abc"}))
    assert "VERTEBRO_SESSION_IDLE_MINUTES='abc' is not a number of minutes above 0" in number
    flag = _error(run_vertebro("site", "list", env={"VERTEBRO_HTTPS": "enable"}))
    assert "VERTEBRO_HTTPS='enable' is neither on" in flag
