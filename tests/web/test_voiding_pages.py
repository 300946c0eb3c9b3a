"""Void and restore pages (issue 13): a required reason beside the field, roles, the patient page
striking the record through, and the history telling who voided it and why (never to the analyst)."""

from __future__ import annotations

from django.urls import reverse

from vertebro.domain.privacy import FREE_TEXT_HIDDEN
from vertebro.registry.models import PainAssessment

REASON = "Entered twice by Mary at the Elm Street clinic"


def _post_score(world):
    return world.procedure_a.pain_assessments.get(timepoint="post")


def _void(world, username, record, reason=REASON):
    return world.client(username).post(
        reverse("web:void", kwargs={"kind": "pain", "pk": record.pk}), {"reason": reason, "version": record.version}
    )


def test_coordinator_voids_a_score_with_a_reason_and_the_page_strikes_it_through(world):
    score = _post_score(world)
    form = world.client("coordinator_a").get(reverse("web:void", kwargs={"kind": "pain", "pk": score.pk}))
    assert form.status_code == 200 and "Reason for voiding" in form.content.decode()
    response = _void(world, "coordinator_a", score)
    assert response.status_code == 302
    score.refresh_from_db()
    assert score.is_voided and score.void_reason == REASON
    html = world.client("coordinator_a").get(reverse("web:patient", kwargs={"pk": world.patient_a.pk})).content.decode()
    row = html[html.index(f'id="pain-{score.pk}"'):]
    row = row[: row.index("</tr>")]
    assert 'class="voided"' in row and REASON in row and "Restore" not in row  # coordinators do not restore


def test_a_void_without_a_reason_is_refused_beside_the_field(world):
    score = _post_score(world)
    response = _void(world, "coordinator_a", score, reason="   ")
    assert response.status_code == 200
    assert "Voiding needs a reason" in response.content.decode()
    score.refresh_from_db()
    assert not score.is_voided


def test_analyst_cannot_void_and_other_site_cannot_see(world):
    score = _post_score(world)
    assert _void(world, "analyst_a", score).status_code == 403
    assert _void(world, "coordinator_b", score).status_code == 404
    score.refresh_from_db()
    assert not score.is_voided


def test_only_an_investigator_restores(world):
    score = _post_score(world)
    _void(world, "coordinator_a", score)
    score.refresh_from_db()
    url = reverse("web:restore", kwargs={"kind": "pain", "pk": score.pk})
    assert world.client("coordinator_a").post(url, {"version": score.version}).status_code == 403
    assert world.client("investigator_a").post(url, {"version": score.version, "reason": "it was right"}).status_code == 302
    assert PainAssessment.objects.active().filter(pk=score.pk).exists()


def test_a_treated_fracture_cannot_be_voided_and_the_page_says_why(world):
    fracture = world.patient_a.fractures.order_by("id").first()
    response = world.client("coordinator_a").post(
        reverse("web:void", kwargs={"kind": "fracture", "pk": fracture.pk}), {"reason": "duplicate", "version": fracture.version}
    )
    assert response.status_code == 200 and "void that procedure first" in response.content.decode()


def test_history_shows_the_void_with_its_reason_but_not_to_the_analyst(world):
    score = _post_score(world)
    _void(world, "coordinator_a", score)
    url = reverse("web:record_history", kwargs={"kind": "pain", "pk": score.pk})
    coordinator = world.client("coordinator_a").get(url).content.decode()
    assert REASON in coordinator and "coordinator_a" in coordinator
    analyst = world.client("analyst_a").get(url).content.decode()
    assert "Mary" not in analyst and "Elm Street" not in analyst
    assert FREE_TEXT_HIDDEN.strip("()") in analyst or "hidden" in analyst
    page = world.client("analyst_a").get(reverse("web:patient", kwargs={"pk": world.patient_a.pk})).content.decode()
    assert "Mary" not in page and "Voided" in page
