"""`--as USER` (or VERTEBRO_USER): imports and exports from the command line for a registry account,
held to its roles and sites as the web app holds it, with the account and the operating-system user
both recorded."""

from __future__ import annotations

import pandas as pd
import pytest

from vertebro.errors import VertebroError
from vertebro.interop.actor import actor_for
from vertebro.interop.export import export_registry
from vertebro.interop.importer import import_flat_file
from vertebro.interop.problems import ImportRejected
from vertebro.registry.models import ExportLog, ImportBatch, Patient
from vertebro.registry.services.accounts import membership_set
from vertebro.registry.services.clinical import site_create

from .flat_rows import flat_rows


@pytest.fixture
def accounts(db, django_user_model):
    north, south = site_create(code="north", name="North"), site_create(code="south", name="South")
    users = {}
    for username, roles in {
        "coord_north": {north: "coordinator"},
        "analyst_north": {north: "analyst"},
        "inv_both": {north: "investigator", south: "investigator"},
        "analyst_north_coord_south": {north: "analyst", south: "coordinator"},
    }.items():
        users[username] = django_user_model.objects.create_user(username, password="x" * 12)
        for site, role in roles.items():
            membership_set(user=users[username], site=site, role=role)
    return users


@pytest.fixture
def cohort(tmp_path):
    path = tmp_path / "cohort.csv"
    flat_rows(4).to_csv(path, index=False)  # patients at north and at south
    return path


def test_a_coordinator_imports_into_their_own_site_only(accounts, cohort):
    coordinator = accounts["coord_north"]
    with pytest.raises(ImportRejected) as rejected:
        import_flat_file(path=cohort, user=coordinator, os_user="jdoe")
    problems = rejected.value.problems
    assert set(problems["value"]) == {"south"} and len(problems) == 8
    assert problems["rule"].iloc[0] == (
        "coord_north (coordinator at north) may not import into south: importing needs the coordinator, investigator or admin role there"
    )
    assert Patient.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.user, batch.os_user) == ("rejected", coordinator, "jdoe")

    outcome = import_flat_file(path=cohort, user=coordinator, os_user="jdoe", skip_invalid=True)
    assert set(Patient.objects.values_list("site__code", flat=True)) == {"north"}
    assert (outcome.batch.status, outcome.batch.user, outcome.batch.os_user) == ("committed", coordinator, "jdoe")


def test_an_analyst_imports_nothing_and_an_investigator_of_both_sites_everything(accounts, cohort):
    with pytest.raises(ImportRejected) as rejected:
        import_flat_file(path=cohort, user=accounts["analyst_north"])
    assert len(rejected.value.problems) == 16
    assert "analyst_north (analyst at north) may not import into north" in rejected.value.problems["rule"].iloc[0]
    import_flat_file(path=cohort, user=accounts["inv_both"])
    assert Patient.objects.count() == 4


def test_an_analyst_exports_de_identified_data_of_their_own_sites_only(accounts, cohort, tmp_path):
    import_flat_file(path=cohort, user=accounts["inv_both"])
    analyst = accounts["analyst_north"]
    with pytest.raises(VertebroError, match="analyst at north: that role sees de-identified data only at north; add --deidentified"):
        export_registry(file_format="csv", out=tmp_path / "phi.csv", user=analyst)
    with pytest.raises(VertebroError, match="has no role at south"):
        export_registry(file_format="csv", out=tmp_path / "south.csv", deidentified=True, site_codes=["south"], user=analyst)
    assert not ExportLog.objects.exists() and not (tmp_path / "phi.csv").exists()  # refused: nothing written or logged

    result = export_registry(file_format="csv", out=tmp_path / "deid.csv", deidentified=True, user=analyst, os_user="asmith")
    assert set(pd.read_csv(tmp_path / "deid.csv")["site"]) == {"north"}  # the account's sites, without --site
    assert (result.log.user, result.log.os_user, result.log.deidentified) == (analyst, "asmith", True)


def test_a_mixed_role_account_exports_identified_data_only_where_it_sees_identifiers(accounts, cohort, tmp_path):
    import_flat_file(path=cohort, user=accounts["inv_both"])
    mixed = accounts["analyst_north_coord_south"]
    export_registry(file_format="csv", out=tmp_path / "south.csv", site_codes=["south"], user=mixed)
    with pytest.raises(VertebroError, match="de-identified data only at north"):
        export_registry(file_format="csv", out=tmp_path / "both.csv", user=mixed)


def test_the_account_must_exist_and_be_active(accounts, monkeypatch):
    with pytest.raises(VertebroError, match="there is no registry account 'nobody'"):
        actor_for("nobody")
    accounts["coord_north"].is_active = False
    accounts["coord_north"].save()
    with pytest.raises(VertebroError, match="deactivated"):
        actor_for("coord_north")
    monkeypatch.setenv("VERTEBRO_USER", "inv_both")
    assert actor_for(None).user == accounts["inv_both"]
    monkeypatch.delenv("VERTEBRO_USER")
    assert actor_for(None).user is None  # no account: the operating-system user alone, as before


def test_the_command_line_takes_as_and_vertebro_user(accounts, cohort, tmp_path, run_cli, monkeypatch):
    code, _, err = run_cli("import", str(cohort), "--as", "coord_north")
    assert code == 1 and "may not import into south" in err
    code, out, err = run_cli("import", str(cohort), "--as", "coord_north", "--skip-invalid")
    assert code == 0, err
    monkeypatch.setenv("VERTEBRO_USER", "analyst_north")
    code, _, err = run_cli("export", "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert code == 1 and "add --deidentified" in " ".join(err.split())
    code, _, err = run_cli("export", "--format", "csv", "--deidentified", "--out", str(tmp_path / "x.csv"))
    assert code == 0, err
    assert list(ImportBatch.objects.order_by("id").values_list("user__username", "status")) == [
        ("coord_north", "rejected"), ("coord_north", "committed")]
    assert ExportLog.objects.get().user == accounts["analyst_north"]
