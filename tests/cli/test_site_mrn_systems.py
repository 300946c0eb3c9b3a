"""`vertebro site add|set|list` with the identifier systems of a site's MRNs."""

import sqlite3


def _systems(tmp_path):
    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    return db.execute("SELECT s.code, m.position, m.system FROM registry_sitemrnsystem m JOIN registry_site s ON s.id = m.site_id "
                      "ORDER BY s.code, m.position").fetchall(), db


def test_site_add_with_systems_then_set_replaces_them_with_history(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    run_vertebro("site", "add", "NORTH", "--name", "North Hospital", "--mrn-system", "http://north.example.org",
                 "--mrn-system", "urn:oid:1.2.3.4", check=True)
    run_vertebro("site", "add", "SOUTH", "South Hospital", check=True)  # the name as an argument still works
    rows, db = _systems(tmp_path)
    assert rows == [("NORTH", 1, "http://north.example.org"), ("NORTH", 2, "urn:oid:1.2.3.4")]
    listed = run_vertebro("site", "list", check=True).stdout
    assert "http://north.example.org" in listed and "urn:oid:1.2.3.4" in listed and "South Hospital" in listed

    run_vertebro("site", "set", "NORTH", "--mrn-system", "urn:oid:1.2.3.4", "--mrn-system", "https://mrn.north.example.org", check=True)
    rows, db = _systems(tmp_path)
    assert rows == [("NORTH", 1, "urn:oid:1.2.3.4"), ("NORTH", 2, "https://mrn.north.example.org")]
    history = db.execute("SELECT history_type, position, system FROM registry_historicalsitemrnsystem ORDER BY history_id").fetchall()
    assert ("-", 1, "http://north.example.org") in history and ("+", 1, "urn:oid:1.2.3.4") in history
    assert len(history) == 6  # 2 added, then both moved or removed (2) and two added

    run_vertebro("site", "set", "NORTH", "--no-mrn-systems", "--name", "North General", check=True)
    rows, db = _systems(tmp_path)
    assert rows == [] and db.execute("SELECT name FROM registry_site WHERE code='NORTH'").fetchone() == ("North General",)


def test_a_bad_system_is_refused_by_name_and_nothing_is_written(run_vertebro, tmp_path):
    run_vertebro("init", check=True)
    result = run_vertebro("site", "add", "NORTH", "--name", "North", "--mrn-system", "http://ok.example.org", "--mrn-system", "hospital.example.org")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "hospital.example.org" in result.stderr and "absolute URI" in result.stderr
    rows, db = _systems(tmp_path)
    assert rows == [] and db.execute("SELECT count(*) FROM registry_site").fetchone() == (0,)
    run_vertebro("site", "add", "NORTH", "--name", "North", check=True)
    twice = run_vertebro("site", "set", "NORTH", "--mrn-system", "urn:oid:1.2", "--mrn-system", "urn:oid:1.2")
    assert twice.returncode == 1 and "given once per site" in twice.stderr
    unknown = run_vertebro("site", "set", "WEST", "--mrn-system", "urn:oid:1.2")
    assert unknown.returncode == 1 and "there is no site 'WEST'" in unknown.stderr
