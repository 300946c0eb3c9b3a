"""The procedure form (levels, cement per level, approach, biopsy, complications) and complications."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import Complication, Procedure, TreatedLevel
from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create


@pytest.fixture
def intake(world):
    """A patient at site A with two fractures and a clean checklist, ready for a procedure."""
    patient = patient_create(study_id="VPA0500", site=world.site_a, sex="M", age_at_index=75)
    t11 = fracture_create(patient=patient, level="T11", etiology="osteoporotic")
    l2 = fracture_create(patient=patient, level="L2", etiology="osteoporotic")
    eligibility_record(patient=patient, assessed_on=date.today() - timedelta(days=5), indications=["osteoporotic_refractory"], absolute=[], relative=[])
    return patient, t11, l2


def _data(t11, l2, **changes) -> dict:
    data = {
        "performed_on": (date.today() - timedelta(days=1)).isoformat(), "kind": "vertebroplasty", "approach": "unipedicular",
        "operator": "Dr Keep", "biopsy_taken": "no", f"treat_{t11.pk}": "on", f"cement_{t11.pk}": "4.5",
        "comp-TOTAL_FORMS": "2", "comp-INITIAL_FORMS": "0", "comp-MIN_NUM_FORMS": "0", "comp-MAX_NUM_FORMS": "10",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_record_a_procedure_with_levels_cement_and_complications(world, intake):
    patient, t11, l2 = intake
    data = _data(t11, l2, **{f"treat_{l2.pk}": "on", f"cement_{l2.pk}": "3", "biopsy_taken": "yes", "biopsy_result": "benign",
                             "comp-0-kind": "cement_leak", "comp-0-leak_route": "paravertebral", "comp-0-symptomatic": "on",
                             "comp-1-kind": "pulmonary_embolism"})
    response = world.client("coordinator_a").post(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk}), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    procedure = Procedure.objects.get(patient=patient)
    assert (procedure.approach, procedure.biopsy_taken, procedure.biopsy_result, procedure.operator) == ("unipedicular", True, "benign", "Dr Keep")
    assert sorted(procedure.treated_levels.values_list("fracture__level", "cement_ml")) == [("L2", 3.0), ("T11", 4.5)]
    assert sorted(procedure.complications.values_list("kind", "leak_route", "symptomatic")) == [
        ("cement_leak", "paravertebral", True), ("pulmonary_embolism", None, False)]


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"performed_on": ""}, "performed_on", "Enter the procedure date."),
        ({"performed_on": "2999-01-01"}, "performed_on", "This date is in the future"),
        ({"approach": "sideways"}, "approach", "Choose one of the options in the list."),
        ("no levels", "levels", "Tick at least one treated level."),
        ("cement 25", "cement", "Cement volume must be more than 0 and at most 20 ml per level."),
        ("cement 0", "cement", "Cement volume must be more than 0"),
        ("cement words", "cement", "Enter the cement volume in ml, using digits"),
        ("cement unticked", "cement_l2", "Tick this level as treated, or clear its cement volume."),
        ({"biopsy_result": "malignant"}, "biopsy_result", "A biopsy result needs a biopsy"),
        ({"biopsy_taken": ""}, "biopsy_taken", "Answer yes or no."),
    ],
)
def test_procedure_errors_beside_the_field_and_nothing_saved(world, intake, changes, field, message):
    patient, t11, l2 = intake
    if changes == "no levels":
        changes, field = {f"treat_{t11.pk}": None, f"cement_{t11.pk}": None}, "levels"
    elif isinstance(changes, str) and changes.startswith("cement unticked"):
        changes, field = {f"cement_{l2.pk}": "2"}, f"cement_{l2.pk}"
    elif isinstance(changes, str):
        value = {"cement 25": "25", "cement 0": "0", "cement words": "four"}[changes]
        changes, field = {f"cement_{t11.pk}": value}, f"cement_{t11.pk}"
    response = world.client("coordinator_a").post(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk}), _data(t11, l2, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field]), errors
    html = response.content.decode()
    assert 'value="Dr Keep"' in html and "Nothing was saved." in html
    assert not Procedure.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    "row,field,message",
    [
        ({"comp-0-kind": "cement_leak"}, "leak_route", "Say where the cement leaked (the route)."),
        ({"comp-0-kind": "infection", "comp-0-leak_route": "disc"}, "leak_route", "Only a cement leak has a route"),
        ({"comp-0-leak_route": "disc"}, "kind", "Choose the complication, or clear this row."),
    ],
)
def test_complication_row_errors_keep_the_whole_form(world, intake, row, field, message):
    patient, t11, l2 = intake
    response = world.client("coordinator_a").post(reverse("web:procedure_new", kwargs={"patient_pk": patient.pk}), _data(t11, l2, **row))
    assert response.status_code == 200
    assert any(message in e for e in response.context["formset"].forms[0].errors[field])
    assert not Procedure.objects.filter(patient=patient).exists() and not Complication.objects.filter(procedure__patient=patient).exists()


def test_procedure_edit_changes_levels_under_one_version(world):
    procedure = world.procedure_a
    t12, l1 = (procedure.patient.fractures.get(level=lv) for lv in ("T12", "L1"))
    url = reverse("web:procedure_edit", kwargs={"pk": procedure.pk})
    data = {"version": procedure.version, "performed_on": procedure.performed_on.isoformat(), "kind": "kyphoplasty",
            "approach": "bipedicular", "biopsy_taken": "no", f"treat_{t12.pk}": "on", f"cement_{t12.pk}": "5"}
    response = world.client("coordinator_a").post(url, data)
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.kind == "kyphoplasty" and procedure.version == 2
    assert list(procedure.treated_levels.values_list("fracture__level", "cement_ml")) == [("T12", 5.0)]
    assert TreatedLevel.history.filter(fracture_id=l1.pk, history_type="-").exists()
    # The other editor, still on version 1, is refused and sees both versions of the levels.
    stale = data | {f"treat_{l1.pk}": "on", f"cement_{l1.pk}": "3.5", "kind": "vertebroplasty"}
    conflict = world.client("investigator_a").post(url, stale)
    assert conflict.status_code == 409
    rows = {row["label"]: row for row in conflict.context["conflict"]["rows"]}
    assert (rows["Procedure"]["saved"], rows["Procedure"]["yours"], rows["Procedure"]["state"]) == ("Kyphoplasty", "Vertebroplasty", "theirs")
    # Levels have no starting version to compare with: flagged as changed by both, the editor's kept.
    assert (rows["Treated L1"]["saved"], rows["Treated L1"]["yours"], rows["Treated L1"]["state"]) == ("no", "yes", "both")
    assert procedure.treated_levels.count() == 1
    merged = conflict.context["form"]
    assert merged["kind"].value() == "kyphoplasty" and merged[f"treat_{l1.pk}"].value()


def test_procedure_date_change_that_would_misplace_scores_is_refused(world):
    procedure = world.procedure_a
    t12, l1 = (procedure.patient.fractures.get(level=lv) for lv in ("T12", "L1"))
    moved = procedure.performed_on - timedelta(days=10)
    data = {"version": procedure.version, "performed_on": moved.isoformat(), "kind": "vertebroplasty", "approach": "bipedicular",
            "biopsy_taken": "no", f"treat_{t12.pk}": "on", f"cement_{t12.pk}": "4", f"treat_{l1.pk}": "on", f"cement_{l1.pk}": "3.5"}
    response = world.client("coordinator_a").post(reverse("web:procedure_edit", kwargs={"pk": procedure.pk}), data)
    assert response.status_code == 200
    assert any("outside their timepoint windows" in e for e in response.context["form"].errors["performed_on"])
    procedure.refresh_from_db()
    assert procedure.version == 1


def test_saving_a_procedure_unchanged_writes_nothing(world):
    procedure = world.procedure_a
    t12, l1 = (procedure.patient.fractures.get(level=lv) for lv in ("T12", "L1"))
    data = {"version": 1, "performed_on": procedure.performed_on.isoformat(), "kind": "vertebroplasty", "approach": "bipedicular",
            "biopsy_taken": "no", f"treat_{t12.pk}": "on", f"cement_{t12.pk}": "4", f"treat_{l1.pk}": "on", f"cement_{l1.pk}": "3.5"}
    before = Procedure.history.count()
    assert world.client("coordinator_a").post(reverse("web:procedure_edit", kwargs={"pk": procedure.pk}), data).status_code == 302
    assert Procedure.history.count() == before


def test_add_and_edit_a_complication(world):
    procedure = world.procedure_a
    client = world.client("coordinator_a")
    response = client.post(reverse("web:complication_new", kwargs={"procedure_pk": procedure.pk}),
                           {"kind": "adjacent_fracture", "noted_on": date.today().isoformat(), "notes": "L2 at 6 weeks"})
    assert response.status_code == 302
    complication = procedure.complications.get(kind="adjacent_fracture")
    bad = client.post(reverse("web:complication_edit", kwargs={"pk": complication.pk}),
                      {"version": 1, "kind": "cement_leak", "notes": "keep me"})
    assert bad.status_code == 200 and "Say where the cement leaked" in bad.content.decode() and "keep me" in bad.content.decode()
    ok = client.post(reverse("web:complication_edit", kwargs={"pk": complication.pk}),
                     {"version": 1, "kind": "cement_leak", "leak_route": "epidural", "symptomatic": "on"})
    assert ok.status_code == 302
    complication.refresh_from_db()
    assert (complication.kind, complication.leak_route, complication.symptomatic, complication.version) == ("cement_leak", "epidural", True, 2)
    stale = client.post(reverse("web:complication_edit", kwargs={"pk": complication.pk}), {"version": 1, "kind": "infection"})
    assert stale.status_code == 409
