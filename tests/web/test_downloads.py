"""Downloads from the app: the report and the exports, by role and site, logged as the CLI's are."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from django.urls import reverse

from vertebro.registry.models import ExportLog

KEY = "web-downloads-test-key-0123456789"


@pytest.fixture(autouse=True)
def _deid_key(settings):
    settings.DEID_SECRET = KEY


def _export(client, **data):  # noqa: ANN001, ANN003, ANN202
    return client.post(reverse("web:download_export"), data)


def _body(response) -> bytes:  # noqa: ANN001
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("username", ["coordinator_a", "coordinator_b"])
def test_coordinator_cannot_download_the_report_or_an_export(world, username):
    client = world.client(username)
    assert client.get(reverse("web:downloads")).status_code == 403
    assert client.get(reverse("web:download_report")).status_code == 403
    assert _export(client, file_format="csv").status_code == 403
    assert not ExportLog.objects.exists()


def test_anonymous_is_sent_to_the_login(world):
    client = world.client(None)
    for url in (reverse("web:downloads"), reverse("web:download_report")):
        assert client.get(url).status_code == 302
    assert _export(client, file_format="csv").status_code == 302
    assert not ExportLog.objects.exists()


def test_analyst_downloads_a_deidentified_csv_of_their_site_only_and_it_is_logged(world):
    client = world.client("analyst_a")
    page = client.get(reverse("web:downloads")).content.decode()
    assert "de-identified" in page and 'name="identified"' not in page
    assert "cannot be made on this server" not in page
    response = _export(client, file_format="csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="vertebro-SITE-A-deidentified-')
    frame = pd.read_csv(io.BytesIO(_body(response)))
    assert set(frame["site"]) == {"SITE-A"}
    assert not {"name", "mrn", "birth_date", "procedure_date", "assessed_on"} & set(frame.columns)
    assert frame["patient_id"].str.startswith("h").all() and "VPA0001" not in set(frame["patient_id"])
    log = ExportLog.objects.get()
    assert (log.user, log.file_format, log.deidentified, log.rows) == (world.users["analyst_a"], "csv", True, len(frame))
    assert "web download vertebro-SITE-A-deidentified-" in log.destination and "(sites SITE-A)" in log.destination


def test_analyst_cannot_ask_for_an_identified_export(world):
    response = _export(world.client("analyst_a"), file_format="csv", identified="on")
    assert response.status_code == 200  # the field does not exist for the role: the export is de-identified
    frame = pd.read_csv(io.BytesIO(_body(response)))
    assert "name" not in frame and ExportLog.objects.get().deidentified


def test_analyst_cannot_export_another_sites_data(world):
    response = _export(world.client("analyst_a"), file_format="csv", site="SITE-B")
    assert response.status_code == 400
    assert "SITE-B is not one of the available choices" in response.content.decode()
    assert not ExportLog.objects.exists()


def test_investigator_downloads_an_identified_xlsx_of_their_site(world):
    response = _export(world.client("investigator_a"), file_format="xlsx", identified="on")
    assert response.status_code == 200
    frame = pd.read_excel(io.BytesIO(_body(response)), sheet_name="assessments")
    assert set(frame["patient_id"]) == {"VPA0001"} and set(frame["name"]) == {world.phi_a[0]}
    log = ExportLog.objects.get()
    assert (log.user, log.file_format, log.deidentified) == (world.users["investigator_a"], "xlsx", False)


def test_user_who_is_analyst_at_one_site_and_investigator_at_another_gets_identified_data_only_where_allowed(world):
    from vertebro.registry.services.accounts import membership_set

    user = world.users["analyst_a"]
    membership_set(user=user, site=world.site_b, role="investigator")
    client = world.client("analyst_a")
    refused = _export(client, file_format="csv", identified="on")
    assert refused.status_code == 400 and "de-identified data only at SITE-A" in refused.content.decode()
    assert not ExportLog.objects.exists()
    allowed = _export(client, file_format="csv", identified="on", site="SITE-B")
    assert allowed.status_code == 200
    assert set(pd.read_csv(io.BytesIO(_body(allowed)))["patient_id"]) == {"VPB0001"}


@pytest.mark.parametrize("file_format", ["parquet", "dta", "sav", "redcap"])
def test_every_flat_format_downloads_and_is_logged(world, file_format):
    response = _export(world.client("analyst_a"), file_format=file_format)
    assert response.status_code == 200 and len(_body(response)) > 100
    log = ExportLog.objects.get()
    assert (log.file_format, log.deidentified) == (file_format, True) and log.rows > 0


def test_fhir_export_downloads_as_a_zip_of_bundles(world):
    response = _export(world.client("superuser"), file_format="fhir")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.fhir.zip"')
    with zipfile.ZipFile(io.BytesIO(_body(response))) as archive:
        bundles = [json.loads(archive.read(name)) for name in archive.namelist()]
    assert len(bundles) == 2 and all(b["resourceType"] == "Bundle" for b in bundles)  # both sites: admin everywhere
    assert "(sites SITE-A, SITE-B)" in ExportLog.objects.get().destination


def test_deidentified_export_without_a_key_says_what_to_set_and_logs_nothing(world, settings):
    settings.DEID_SECRET = ""
    page = world.client("analyst_a").get(reverse("web:downloads")).content.decode()
    assert "De-identified exports cannot be made on this server yet" in page and "set VERTEBRO_DEID_SECRET" in page
    response = _export(world.client("analyst_a"), file_format="csv")
    assert response.status_code == 409
    assert "set VERTEBRO_DEID_SECRET" in response.content.decode()
    assert not ExportLog.objects.exists()


def test_investigator_downloads_the_report_of_their_site(world):
    response = world.client("investigator_a").get(reverse("web:download_report"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="vertebro-report-')
    html = response.content.decode()
    assert "<html" in html and "site SITE-A" in html
    assert "VPA0001" not in html and world.phi_a[0] not in html


def test_analysts_report_gives_the_data_cut_off_as_its_year_only(world):
    cutoff = (world.procedure_a.performed_on + timedelta(days=7)).isoformat()  # the 1-week score, the last one
    investigator = world.client("investigator_a").get(reverse("web:download_report")).content.decode()
    analyst = world.client("analyst_a").get(reverse("web:download_report")).content.decode()
    assert f"data up to {cutoff}" in investigator
    assert cutoff not in analyst and f"data up to {cutoff[:4]} " in analyst


def test_dashboard_links_the_report_for_analysts_not_for_coordinators(world):
    link = f'href="{reverse("web:download_report")}"'
    assert link in world.client("analyst_a").get(reverse("web:dashboard")).content.decode()
    assert link not in world.client("coordinator_a").get(reverse("web:dashboard")).content.decode()
