"""The REST API: tokens (hashed, shown once, expiry, revocation), scoping like the web app, identifiers
only for roles that see them, filters and pages, writes through the form's rules with optimistic
locking (409), the call log (no PHI), rate limiting of wrong tokens, and the committed OpenAPI schema."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from vertebro.registry.models import ApiCallLog, ApiToken, PainAssessment
from vertebro.registry.services.api_tokens import api_token_create, api_token_revoke, token_digest

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "openapi.yaml"


def _client(world, username: str) -> Client:
    secret = api_token_create(user=world.users[username], label="test").secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_token_is_stored_hashed_and_shown_once(world):
    created = api_token_create(user=world.users["coordinator_a"], label="R pull", days=30)
    stored = ApiToken.objects.get(pk=created.token.pk)
    assert stored.digest == token_digest(created.secret)
    assert created.secret not in (stored.digest, stored.prefix)
    assert stored.prefix == created.secret[:12]
    assert timedelta(days=29) < stored.expires_at - timezone.now() <= timedelta(days=30)


def test_request_without_token_is_401(world):
    response = Client().get("/api/v1/patients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_refused(world):
    created = api_token_create(user=world.users["coordinator_a"], label="old")
    ApiToken.objects.filter(pk=created.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {created.secret}").get("/api/v1/patients/")
    assert response.status_code == 401


def test_revoked_token_is_refused(world):
    created = api_token_create(user=world.users["coordinator_a"], label="x")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {created.secret}")
    assert client.get("/api/v1/patients/").status_code == 200
    api_token_revoke(token=created.token)
    assert client.get("/api/v1/patients/").status_code == 401


def test_deactivated_users_token_is_refused(world):
    client = _client(world, "coordinator_a")
    user = world.users["coordinator_a"]
    user.is_active = False
    user.save()
    assert client.get("/api/v1/patients/").status_code == 401


def test_coordinator_sees_own_site_patients_with_identifiers(world):
    body = _client(world, "coordinator_a").get("/api/v1/patients/").json()
    assert [p["study_id"] for p in body["results"]] == ["VPA0001"]
    patient = body["results"][0]
    assert (patient["name"], patient["mrn"], patient["birth_date"]) == (world.phi_a[0], world.phi_a[1], world.phi_a[2].isoformat())
    assert patient["site"] == "SITE-A" and patient["etiology"] == "osteoporotic" and patient["age"] >= 80


def test_analyst_gets_no_identifiers_and_no_dates(world):
    client = _client(world, "analyst_a")
    patients = client.get("/api/v1/patients/")
    for phi in ("name", "mrn", "birth_date"):
        assert phi not in patients.json()["results"][0]
    for value in (world.phi_a[0], world.phi_a[1], world.phi_a[2].isoformat()):
        assert value not in patients.content.decode()
    assessments = client.get("/api/v1/assessments/").json()["results"]
    assert assessments and all("assessed_on" not in a and "days_from_procedure" in a for a in assessments)
    procedures = client.get("/api/v1/procedures/").json()["results"]
    assert procedures and all("performed_on" not in p and "operator" not in p for p in procedures)
    follow_ups = client.get("/api/v1/follow-ups/").json()["results"]
    assert follow_ups and all("seen_on" not in f for f in follow_ups)


def test_coordinator_cannot_see_other_site_patient(world):
    client = _client(world, "coordinator_a")
    assert client.get(f"/api/v1/patients/{world.patient_b.pk}/").status_code == 404
    assessment_b = world.procedure_b.pain_assessments.first()
    assert client.get(f"/api/v1/assessments/{assessment_b.pk}/").status_code == 404
    assert client.patch(f"/api/v1/assessments/{assessment_b.pk}/", {"version": 1, "score": 1}, content_type="application/json").status_code == 404


def _all(client, url: str) -> list[dict]:
    """Every record of a list, following ``next`` links as a client must (keyset pages, no count)."""
    records = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content[:300]
        body = page.json()
        assert "count" not in body
        records += body["results"]
        url = body["next"]
    return records


def test_filters_and_pages(world):
    client = _client(world, "superuser")
    assert {p["site"] for p in client.get("/api/v1/patients/?site=SITE-B").json()["results"]} == {"SITE-B"}
    assert _all(client, "/api/v1/patients/?etiology=pathologic") == []
    assert len(_all(client, "/api/v1/patients/?etiology=osteoporotic")) == 2
    posts = _all(client, "/api/v1/assessments/?timepoint=post")
    assert len(posts) == 2 and {a["timepoint"] for a in posts} == {"post"}
    page = client.get("/api/v1/assessments/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    assert len(_all(client, "/api/v1/assessments/?page_size=2")) == 6
    future = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert _all(client, f"/api/v1/assessments/?changed_since={future}") == []
    assert len(_all(client, "/api/v1/assessments/?changed_since=2000-01-01")) == 6


def test_next_page_keeps_filters_and_page_size(world):
    client = _client(world, "superuser")
    first = client.get("/api/v1/assessments/?page_size=1&changed_since=2000-01-01").json()
    assert "page_size=1" in first["next"] and "changed_since=2000-01-01" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["results"][0]["id"] > first["results"][0]["id"]


def test_a_record_created_while_paging_is_neither_skipped_nor_repeated(world):
    """Keyset pages: the next page starts after the last id seen, so an insert shifts nothing."""
    client = _client(world, "superuser")
    first = client.get("/api/v1/patients/?page_size=1").json()
    seen = [p["id"] for p in first["results"]]
    from vertebro.registry.models import Patient
    from vertebro.registry.services.clinical import patient_create

    patient_create(study_id="LATE-1", site=world.site_a, sex="F", birth_date=date(1950, 1, 1), user=world.users["superuser"])
    rest = _all(client, first["next"])
    ids = seen + [p["id"] for p in rest]
    assert len(ids) == len(set(ids)) == Patient.objects.count()
    assert ids == sorted(ids)


@pytest.mark.parametrize("query, field", [("changed_since=yesterday", "changed_since"), ("etiology=banana", "etiology"), ("timepoint=13w", "timepoint")])
def test_bad_filter_is_400_naming_field_and_value(world, query, field):
    response = _client(world, "coordinator_a").get(f"/api/v1/assessments/?{query}")
    assert response.status_code == 400
    message = response.json()[field][0]
    assert query.split("=")[1] in message


def test_coordinator_changes_score_with_history_crediting_api_user(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/assessments/{assessment.pk}/", {"version": assessment.version, "score": 4}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assessment.refresh_from_db()
    assert assessment.score == 4 and response.json()["version"] == assessment.version == 2
    latest = assessment.history.order_by("-history_id").first()
    assert latest.history_user == world.users["coordinator_a"]


def test_stale_version_is_409_and_writes_nothing(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    client = _client(world, "coordinator_a")
    url = f"/api/v1/assessments/{assessment.pk}/"
    assert client.patch(url, {"version": 1, "score": 4}, content_type="application/json").status_code == 200
    stale = client.patch(url, {"version": 1, "score": 6}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert PainAssessment.objects.get(pk=assessment.pk).score == 4


def test_score_out_of_range_is_refused_with_the_forms_message(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    response = _client(world, "coordinator_a").patch(
        f"/api/v1/assessments/{assessment.pk}/", {"version": 1, "score": 11}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["score"] == ["Enter the pain score as a number from 0 to 10."]
    assert PainAssessment.objects.get(pk=assessment.pk).version == 1


def test_analyst_cannot_change_a_score(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    response = _client(world, "analyst_a").patch(
        f"/api/v1/assessments/{assessment.pk}/", {"version": 1, "score": 4}, content_type="application/json"
    )
    assert response.status_code == 403
    assert PainAssessment.objects.get(pk=assessment.pk).version == 1


def test_every_call_is_logged_without_phi(world):
    client = _client(world, "coordinator_a")
    client.get(f"/api/v1/patients/{world.patient_a.pk}/")
    client.get(f"/api/v1/patients/?search={world.phi_a[0]}")
    Client().get("/api/v1/patients/")
    calls = list(ApiCallLog.objects.order_by("pk"))
    assert [(c.user, c.method, c.path, c.status) for c in calls] == [
        (world.users["coordinator_a"], "GET", f"/api/v1/patients/{world.patient_a.pk}/", 200),
        (world.users["coordinator_a"], "GET", "/api/v1/patients/", 200),
        (None, "GET", "/api/v1/patients/", 401),
    ]
    logged = " ".join(f"{c.path}" for c in calls)
    for phi in (world.phi_a[0], world.phi_a[1], world.patient_a.study_id):
        assert phi not in logged


def test_a_thousand_wrong_tokens_are_throttled(world, settings):
    settings.VERTEBRO_API_FAILURE_LIMIT = 20
    statuses = [Client(HTTP_AUTHORIZATION=f"Bearer vtb_wrong{i}").get("/api/v1/patients/").status_code for i in range(1000)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    # From that address even a valid token waits out the window; another address is not affected.
    secret = api_token_create(user=world.users["coordinator_a"], label="ok").secret
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/patients/").status_code == 429
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.0.0.9").get("/api/v1/patients/").status_code == 200


def test_analysis_contract_of_visible_sites(world):
    response = _client(world, "analyst_a").get("/api/v1/analysis/")
    assert response.status_code == 200, response.content
    contract = response.json()
    assert contract["schema"] == "vertebro.analysis/1"
    assert contract["cohort"], "the contract describes the visible cohort"
    assert world.phi_a[0] not in response.content.decode() and world.patient_b.study_id not in response.content.decode()


def test_imports_list_only_own_batches(world):
    from vertebro.registry.models import ImportBatch

    ImportBatch.objects.create(file_name="Ada Quimby.csv", file_sha256="0" * 64, file_format="csv", user=world.users["coordinator_b"])
    assert _client(world, "coordinator_a").get("/api/v1/imports/").json()["results"] == []
    body = _client(world, "superuser").get("/api/v1/imports/")
    assert len(body.json()["results"]) == 1 and "Ada Quimby" not in body.content.decode()


def test_committed_schema_matches_the_generated_one(db):
    from django.core.management import call_command
    import io

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert SCHEMA_FILE.read_text() == out.getvalue(), (
        "openapi.yaml is out of date: regenerate it with `vertebro manage spectacular --file openapi.yaml`"
    )


def test_schema_is_served_without_a_token(db):
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200 and b"openapi: 3" in response.content
