"""Pain scores (timepoint from the windows; before/after asked on the procedure day) and follow-ups."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import FollowUp, PainAssessment
from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create, procedure_create


@pytest.fixture
def fresh_procedure(world):
    """A procedure 100 days ago at site A without any score."""
    patient = patient_create(study_id="VPA0600", site=world.site_a, sex="F", age_at_index=81)
    fracture = fracture_create(patient=patient, level="L4", etiology="osteoporotic")
    eligibility_record(patient=patient, assessed_on=date.today() - timedelta(days=101), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    return procedure_create(patient=patient, performed_on=date.today() - timedelta(days=100), treated=[(fracture, 3.0)])


def _pain_url(procedure) -> str:
    return reverse("web:pain_new", kwargs={"procedure_pk": procedure.pk})


@pytest.mark.parametrize(
    "offset,answer,timepoint",
    [(-10, "", "baseline"), (0, "before", "baseline"), (0, "after", "post"), (2, "", "post"), (10, "", "1w"),
     (30, "", "1m"), (90, "", "3m"), (99, "", "3m")],
)
def test_timepoint_follows_from_the_date(world, fresh_procedure, offset, answer, timepoint):
    day = fresh_procedure.performed_on + timedelta(days=offset)
    response = world.client("coordinator_a").post(_pain_url(fresh_procedure), {
        "assessed_on": day.isoformat(), "score": "6", "instrument": "vps", "procedure_day": answer})
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert PainAssessment.objects.get(procedure=fresh_procedure).timepoint == timepoint


def test_procedure_day_asks_before_or_after(world, fresh_procedure):
    response = world.client("coordinator_a").post(_pain_url(fresh_procedure), {
        "assessed_on": fresh_procedure.performed_on.isoformat(), "score": "7", "instrument": "vps", "venue": "pain_clinic"})
    assert response.status_code == 200
    assert response.context["form"].errors["procedure_day"] == [
        "This score is from the procedure day: say whether it was taken before or after the procedure."]
    html = response.content.decode()
    assert 'value="7"' in html and 'value="pain_clinic" selected' in html
    assert not PainAssessment.objects.filter(procedure=fresh_procedure).exists()


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"score": "11"}, "score", "Enter the pain score as a number from 0 to 10."),
        ({"score": "-1"}, "score", "Enter the pain score as a number from 0 to 10."),
        ({"score": "seven"}, "score", "Enter the pain score, using digits"),
        ({"score": ""}, "score", "Enter the pain score."),
        ({"score": "101", "instrument": "vas100"}, "score", "Enter the pain score as a number from 0 to 100."),
        ({"assessed_on": ""}, "assessed_on", "Enter the date of the score."),
        ({"assessed_on": "2999-01-01"}, "assessed_on", "This date is in the future"),
        ("3 days after", "assessed_on", "The baseline window for this procedure runs from"),
        ("window", "assessed_on", "The 1 month window for this procedure runs from"),
    ],
)
def test_pain_errors_beside_the_field(world, fresh_procedure, data, field, message):
    base = {"assessed_on": (fresh_procedure.performed_on + timedelta(days=30)).isoformat(), "score": "5", "instrument": "vps"}
    if data == "3 days after":
        data = {"assessed_on": (fresh_procedure.performed_on + timedelta(days=3)).isoformat(), "timepoint": "baseline"}
    elif data == "window":
        data = {"assessed_on": (fresh_procedure.performed_on + timedelta(days=90)).isoformat(), "timepoint": "1m"}
    response = world.client("coordinator_a").post(_pain_url(fresh_procedure), base | data)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert not PainAssessment.objects.filter(procedure=fresh_procedure).exists()


def test_vas_in_millimetres_is_stored_on_the_ten_point_scale(world, fresh_procedure):
    day = fresh_procedure.performed_on + timedelta(days=30)
    world.client("coordinator_a").post(_pain_url(fresh_procedure), {"assessed_on": day.isoformat(), "score": "65", "instrument": "vas100"})
    assessment = PainAssessment.objects.get(procedure=fresh_procedure)
    assert assessment.score == 6.5 and assessment.instrument == "vas100"
    form = world.client("coordinator_a").get(reverse("web:pain_edit", kwargs={"pk": assessment.pk})).context["form"]
    assert form["score"].value() == 65  # edited in millimetres again


def test_a_second_score_at_the_same_timepoint_is_refused(world):
    procedure = world.procedure_a
    day = procedure.performed_on + timedelta(days=2)  # post window; the post score exists
    response = world.client("coordinator_a").post(_pain_url(procedure), {"assessed_on": day.isoformat(), "score": "1", "instrument": "vps"})
    assert response.status_code == 200
    assert "already has a score at that timepoint" in response.content.decode()
    assert procedure.pain_assessments.filter(timepoint="post").count() == 1


def test_edit_pain_rederives_the_timepoint_and_keeps_history(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    client = world.client("coordinator_a")
    url = reverse("web:pain_edit", kwargs={"pk": assessment.pk})
    day = world.procedure_a.performed_on + timedelta(days=16)
    assert client.post(url, {"version": 1, "assessed_on": day.isoformat(), "score": "2.5", "instrument": "vps"}).status_code == 302
    assessment.refresh_from_db()
    assert (assessment.timepoint, assessment.score, assessment.version) == ("1m", 2.5, 2)
    history = client.get(reverse("web:record_history", kwargs={"kind": "pain", "pk": assessment.pk})).content.decode()
    assert "<del>3</del> → <ins>2.5</ins>" in history and "<del>Post-procedure</del> → <ins>1 month</ins>" in history


def test_edit_pain_into_a_taken_timepoint_is_refused(world):
    procedure = world.procedure_a
    post = procedure.pain_assessments.get(timepoint="post")
    one_week = procedure.performed_on + timedelta(days=5)  # the 1w score exists already
    response = world.client("coordinator_a").post(reverse("web:pain_edit", kwargs={"pk": post.pk}),
                                                  {"version": 1, "assessed_on": one_week.isoformat(), "score": "3", "instrument": "vps"})
    assert response.status_code == 200 and "already has a score at that timepoint" in response.content.decode()
    post.refresh_from_db()
    assert post.timepoint == "post" and post.version == 1


def test_concurrent_pain_edits_conflict(world):
    assessment = world.procedure_a.pain_assessments.get(timepoint="post")
    url = reverse("web:pain_edit", kwargs={"pk": assessment.pk})
    day = assessment.assessed_on.isoformat()
    assert world.client("coordinator_a").post(url, {"version": 1, "assessed_on": day, "score": "4", "instrument": "vps"}).status_code == 302
    response = world.client("investigator_a").post(url, {"version": 1, "assessed_on": day, "score": "5", "instrument": "vps"})
    assert response.status_code == 409
    rows = {row["label"]: (row["saved"], row["yours"]) for row in response.context["conflict"]["rows"]}
    assert rows["Pain score"] == ("4", "5")
    assessment.refresh_from_db()
    assert assessment.score == 4


# --- follow-up -----------------------------------------------------------------------------------


def test_follow_up_with_its_score(world, fresh_procedure):
    seen = fresh_procedure.performed_on + timedelta(days=95)
    response = world.client("coordinator_a").post(reverse("web:follow_up_new", kwargs={"procedure_pk": fresh_procedure.pk}), {
        "seen_on": seen.isoformat(), "venue": "pain_clinic", "recurrent_pain": "yes", "new_fracture_level": "L1",
        "further_procedure": "no", "analgesics": "weak_opioid", "score": "4"})
    assert response.status_code == 302
    visit = FollowUp.objects.get(procedure=fresh_procedure)
    assert (visit.recurrent_pain, visit.new_fracture, visit.new_fracture_level, visit.analgesics) == (True, True, "L1", "weak_opioid")
    score = visit.pain_assessments.get()
    assert (score.timepoint, score.score, score.venue) == ("3m", 4.0, "pain_clinic")


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"seen_on": "before"}, "seen_on", "A follow-up comes after its procedure"),
        ({"venue": ""}, "venue", "Choose where the follow-up took place."),
        ({"recurrent_pain": ""}, "recurrent_pain", "Answer yes or no."),
        ({"score": "12"}, "score", "Enter the pain score as a number from 0 to 10."),
        ({"new_fracture_level": "X1"}, "new_fracture_level", "Choose one of the options in the list."),
    ],
)
def test_follow_up_errors_beside_the_field(world, fresh_procedure, data, field, message):
    seen = fresh_procedure.performed_on + timedelta(days=40)
    if data.get("seen_on") == "before":
        data = {"seen_on": (fresh_procedure.performed_on - timedelta(days=1)).isoformat()}
    posted = {"seen_on": seen.isoformat(), "venue": "telephone", "recurrent_pain": "no", "further_procedure": "no", "score": "3"} | data
    response = world.client("coordinator_a").post(reverse("web:follow_up_new", kwargs={"procedure_pk": fresh_procedure.pk}), posted)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert not FollowUp.objects.filter(procedure=fresh_procedure).exists()
    assert not PainAssessment.objects.filter(procedure=fresh_procedure).exists()


def test_follow_up_whose_score_is_refused_saves_nothing(world):
    procedure = world.procedure_a
    seen = procedure.performed_on + timedelta(days=1)  # the post score exists: the visit's score would clash
    before = FollowUp.objects.count()
    response = world.client("coordinator_a").post(reverse("web:follow_up_new", kwargs={"procedure_pk": procedure.pk}), {
        "seen_on": seen.isoformat(), "venue": "telephone", "recurrent_pain": "no", "further_procedure": "no", "score": "2"})
    assert response.status_code == 200 and "already has a score at that timepoint" in response.content.decode()
    assert FollowUp.objects.count() == before


def test_edit_follow_up_and_conflict(world):
    visit = world.procedure_a.follow_ups.get()
    url = reverse("web:follow_up_edit", kwargs={"pk": visit.pk})
    data = {"version": 1, "seen_on": visit.seen_on.isoformat(), "venue": "primary_care", "recurrent_pain": "yes", "further_procedure": "no"}
    assert world.client("coordinator_a").post(url, data).status_code == 302
    visit.refresh_from_db()
    assert (visit.venue, visit.recurrent_pain, visit.version) == ("primary_care", True, 2)
    assert world.client("investigator_a").post(url, data | {"venue": "telephone"}).status_code == 409


def test_a_decimal_score_is_stored_as_given(world, fresh_procedure):
    """The registry's one decimal policy (README, "Decimal scores"): a 0–10 score is kept as the source
    gave it, never rounded nor refused — the same in this form, a CSV import and a FHIR import."""
    day = fresh_procedure.performed_on + timedelta(days=30)
    world.client("coordinator_a").post(_pain_url(fresh_procedure), {"assessed_on": day.isoformat(), "score": "3.93", "instrument": "vps"})
    assert PainAssessment.objects.get(procedure=fresh_procedure).score == 3.93
