"""`vertebro import DIR --format fhir` on a bulk $export folder, as a user runs it (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .flat_rows import rich_rows
from .test_fhir_hospital import HOSPITAL, _pain, _synthea_patient


def test_bulk_folder_with_a_hospital_system_and_unscheduled_observations(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'registry.sqlite3'}", "COLUMNS": "220"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vertebro.cli", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    assert run("init").returncode == 0
    rich_rows().to_csv(tmp_path / "seed.csv", index=False)
    assert run("import", "seed.csv").returncode == 0
    assert run("site", "set", "south", "--mrn-system", HOSPITAL).returncode == 0
    folder = tmp_path / "bulk"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(dict(_synthea_patient("MRN-3"), id="p9")) + "\n")
    observations = [_pain(v, when, n=i)["resource"] for i, (v, when) in enumerate([(4.5, "2020-07-10"), (2, "2023-03-15")])]
    for o in observations:
        o["subject"] = {"reference": "Patient/p9"}
    (folder / "Observation.ndjson").write_text("\n".join(json.dumps(o) for o in observations) + "\n")
    (folder / "Claim.ndjson").write_text(json.dumps({"resourceType": "Claim", "id": "c"}) + "\n")

    refused = run("import", "bulk", "--format", "fhir")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "day 1160" in refused.stderr and "--unscheduled" in refused.stderr
    accepted = run("import", "bulk", "--format", "fhir", "--unscheduled")
    assert accepted.returncode == 0, accepted.stderr
    assert "Note: Claim.ndjson (Claim) holds no Patient or Observation" in accepted.stdout
    misused = run("import", "seed.csv", "--unscheduled")
    assert misused.returncode == 1 and "--unscheduled applies to FHIR" in misused.stderr
