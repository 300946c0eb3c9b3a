"""Instrument responses in the registry (issue 10 phase 2): generic storage driven by the definitions,
scores derived on write, analgesic entries with MME, history, validation naming the item and rule,
missing assessments with a reason, and `db check` re-scoring what is stored."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from vertebro.domain.errors import DomainError
from vertebro.domain.instruments import INSTRUMENTS
from vertebro.registry.models import AnalgesicEntry, InstrumentResponse, InstrumentScore
from vertebro.registry.selectors.integrity import registry_integrity_findings
from vertebro.registry.services.instruments import (
    instrument_missing_record,
    instrument_response_delete,
    instrument_response_record,
    instrument_response_update,
)
from vertebro.registry.services.records import EditConflict

PERFORMED = date(2012, 6, 15)
BASELINE = PERFORMED - timedelta(days=1)
ODI_ALL_TWOS = {f"odi_{n:02d}": 2 for n in range(1, 11)}


def _scores(response) -> dict[str, float | None]:  # noqa: ANN001
    return {s.measure: s.value for s in InstrumentScore.objects.filter(response=response)}


def _instrument_problems() -> dict[str, int]:
    names = ("instrument", "stored instrument", "analgesic entries", "instruments recorded", "every instrument")
    return {f.check: f.problems for f in registry_integrity_findings() if f.check.startswith(names)}


def test_odi_answers_are_stored_and_scored_on_write(procedure):
    response = instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS)
    assert response.timepoint == "baseline" and response.patient_id == procedure.patient_id
    assert response.answers == ODI_ALL_TWOS
    assert _scores(response) == {"odi": pytest.approx(40.0)}


def test_odi_with_one_section_missing_is_scored_over_nine(procedure):
    answers = {**ODI_ALL_TWOS, "odi_08": None}
    answers["odi_01"] = 5
    response = instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=answers)
    assert _scores(response)["odi"] == pytest.approx(100 * (5 + 2 * 8) / 45)


def test_odi_with_two_sections_missing_is_stored_without_a_score(procedure):
    answers = {**ODI_ALL_TWOS, "odi_08": None, "odi_09": ""}
    response = instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=answers)
    assert _scores(response) == {"odi": None}
    assert response.answers["odi_08"] is None and response.answers["odi_01"] == 2


def test_eq5d_stores_every_index_and_the_vas(procedure):
    answers = {"eq5d_mobility": 1, "eq5d_self_care": 1, "eq5d_usual_activities": 1, "eq5d_pain_discomfort": 1,
               "eq5d_anxiety_depression": 1, "eq5d_vas": 80}  # fmt: skip
    response = instrument_response_record(procedure=procedure, instrument="eq5d5l", assessed_on=BASELINE, answers=answers)
    expected = INSTRUMENTS["eq5d5l"].score(answers).values
    assert _scores(response) == pytest.approx(expected)
    assert _scores(response)["eq5d5l_vas"] == 80 and _scores(response)["eq5d5l_index_us"] == pytest.approx(1.0)


def test_an_answer_an_item_refuses_names_the_item_and_rule_and_writes_nothing(procedure):
    with pytest.raises(DomainError) as refused:
        instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers={**ODI_ALL_TWOS, "odi_03": 6})
    assert refused.value.field == "odi_03" and "must be one of 0" in refused.value.rule
    assert not InstrumentResponse.objects.exists() and not InstrumentScore.objects.exists()


def test_an_item_the_instrument_does_not_have_is_refused_by_name(procedure):
    with pytest.raises(DomainError, match="no item 'odi_11'"):
        instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers={**ODI_ALL_TWOS, "odi_11": 1})


def test_an_unknown_instrument_is_refused_with_the_known_ones(procedure):
    with pytest.raises(DomainError, match="rdq24, odi, eq5d5l, analgesics"):
        instrument_response_record(procedure=procedure, instrument="sf36", assessed_on=BASELINE, answers={})


def test_a_response_with_no_answer_at_all_must_be_recorded_as_missing(procedure):
    with pytest.raises(DomainError, match="record a missing assessment"):
        instrument_response_record(procedure=procedure, instrument="rdq24", assessed_on=BASELINE, answers={"rdq_01": ""})


def test_one_response_per_instrument_and_scheduled_timepoint(procedure):
    instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS)
    with pytest.raises(DomainError, match="already has Oswestry"):
        instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE - timedelta(days=2), answers=ODI_ALL_TWOS)
    # another instrument at the same timepoint is fine
    instrument_response_record(procedure=procedure, instrument="rdq24", assessed_on=BASELINE, answers={"rdq_01": 1})


def test_the_timepoint_follows_the_windows_and_a_date_outside_every_window_is_refused(procedure):
    month = instrument_response_record(procedure=procedure, instrument="rdq24", assessed_on=PERFORMED + timedelta(days=30), answers={"rdq_01": 1})
    assert month.timepoint == "1m"
    with pytest.raises(DomainError):
        instrument_response_record(procedure=procedure, instrument="rdq24", assessed_on=PERFORMED - timedelta(days=40), answers={"rdq_01": 1})


def test_analgesic_entries_store_drug_dose_route_frequency_and_mme(procedure):
    answers = {"entries": [
        {"drug": "oxycodone", "dose": 5, "unit": "mg", "route": "oral", "doses_per_day": 4},
        {"drug": "paracetamol", "dose": 1000, "unit": "mg", "route": "oral", "doses_per_day": 3},
        {"drug": "", "dose": "", "unit": "", "route": "", "doses_per_day": ""},  # a blank form row
    ]}  # fmt: skip
    response = instrument_response_record(procedure=procedure, instrument="analgesics", assessed_on=BASELINE, answers=answers)
    entries = list(AnalgesicEntry.objects.filter(response=response).values_list("position", "drug", "mme_per_day"))
    assert entries == [(1, "oxycodone", pytest.approx(30.0)), (2, "paracetamol", 0.0)]
    assert _scores(response) == {"mme_per_day": pytest.approx(30.0)}
    assert response.answers == {}


def test_an_analgesic_error_names_the_entry_and_the_item(procedure):
    answers = {"entries": [{"drug": "morphine", "dose": 10, "unit": "mg", "route": "oral", "doses_per_day": 2},
                           {"drug": "morphine", "dose": 10, "unit": "mg", "route": "by mouth", "doses_per_day": 2}]}  # fmt: skip
    with pytest.raises(DomainError) as refused:
        instrument_response_record(procedure=procedure, instrument="analgesics", assessed_on=BASELINE, answers=answers)
    assert refused.value.field == "entry 2: route"
    assert not AnalgesicEntry.objects.exists() and not InstrumentResponse.objects.exists()


def test_a_missing_assessment_keeps_its_reason_and_no_scores(procedure):
    response = instrument_missing_record(procedure=procedure, instrument="eq5d5l", timepoint="3m", missing_reason="declined")
    assert response.assessed_on is None and response.missing_reason == "declined" and _scores(response) == {}
    with pytest.raises(DomainError, match="missing-data reason must be one of"):
        instrument_missing_record(procedure=procedure, instrument="eq5d5l", timepoint="6m", missing_reason="forgot")


def test_the_database_refuses_a_response_with_both_a_date_and_a_missing_reason(procedure):
    response = InstrumentResponse(patient=procedure.patient, procedure=procedure, instrument="odi", timepoint="baseline",
                                  assessed_on=BASELINE, missing_reason="declined")  # fmt: skip
    with pytest.raises(ValidationError, match="never both"):
        response.full_clean()


def test_an_update_rescores_keeps_history_and_refuses_a_stale_version(procedure):
    response = instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS)
    updated = instrument_response_update(response=response, expected_version=1, answers={**ODI_ALL_TWOS, "odi_01": 0})
    assert _scores(updated)["odi"] == pytest.approx(100 * 18 / 50)
    score = InstrumentScore.objects.get(response=response)
    assert [h.value for h in score.history.order_by("history_id")] == [pytest.approx(40.0), pytest.approx(36.0)]
    assert updated.history.count() == 2
    with pytest.raises(EditConflict):
        instrument_response_update(response=response, expected_version=1, answers=ODI_ALL_TWOS)


def test_an_update_of_analgesics_changes_adds_and_removes_entries(procedure):
    morphine = {"drug": "morphine", "dose": 10, "unit": "mg", "route": "oral", "doses_per_day": 2}
    response = instrument_response_record(procedure=procedure, instrument="analgesics", assessed_on=BASELINE,
                                          answers={"entries": [morphine, {"drug": "nsaid"}]})  # fmt: skip
    instrument_response_update(response=response, expected_version=1, answers={"entries": [{**morphine, "doses_per_day": 3}]})
    assert list(AnalgesicEntry.objects.filter(response=response).values_list("drug", "mme_per_day")) == [("morphine", 30.0)]
    assert _scores(response) == {"mme_per_day": 30.0}
    assert AnalgesicEntry.history.filter(history_type="-").count() == 1


def test_a_missing_assessment_becomes_complete_when_answers_arrive(procedure):
    response = instrument_missing_record(procedure=procedure, instrument="rdq24", timepoint="1m", missing_reason="not_reachable")
    updated = instrument_response_update(response=response, expected_version=1, answers={"rdq_01": 1, "rdq_02": 1},
                                         assessed_on=PERFORMED + timedelta(days=35))  # fmt: skip
    assert updated.missing_reason is None and updated.timepoint == "1m" and _scores(updated) == {"rdq": 2.0}


def test_deleting_needs_a_reason_and_history_keeps_the_rows(procedure):
    response = instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS)
    with pytest.raises(DomainError):
        instrument_response_delete(response=response, reason=" ")
    instrument_response_delete(response=response, reason="entered for the wrong patient")
    assert not InstrumentResponse.objects.exists() and not InstrumentScore.objects.exists()
    deleted = InstrumentResponse.history.get(history_type="-")
    assert deleted.history_change_reason == "entered for the wrong patient"


def test_db_check_is_clean_for_responses_written_by_the_services(procedure):
    instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS)
    instrument_response_record(procedure=procedure, instrument="analgesics", assessed_on=BASELINE,
                               answers={"entries": [{"drug": "tramadol", "dose": 50, "unit": "mg", "route": "oral", "doses_per_day": 2}]})  # fmt: skip
    instrument_missing_record(procedure=procedure, instrument="eq5d5l", timepoint="3m", missing_reason="declined")
    problems = _instrument_problems()
    assert len(problems) == 5 and set(problems.values()) == {0}


@pytest.mark.parametrize(
    "corrupt,check",
    [
        (lambda r: InstrumentScore.objects.filter(response=r["odi"]).update(value=12.5),
         "stored instrument scores equal the definitions' scoring of the stored answers"),
        (lambda r: InstrumentResponse.objects.filter(pk=r["odi"].pk).update(answers={**ODI_ALL_TWOS, "odi_01": 9}),
         "stored instrument scores equal the definitions' scoring of the stored answers"),
        (lambda r: InstrumentScore.objects.filter(response=r["odi"]).delete(),
         "stored instrument scores equal the definitions' scoring of the stored answers"),
        (lambda r: AnalgesicEntry.objects.update(mme_per_day=99),
         "analgesic entries' MME/day equal the CDC 2022 conversion"),
        (lambda r: InstrumentResponse.objects.filter(pk=r["missing"].pk).update(answers={"eq5d_vas": 50}),
         "instruments recorded as missing hold no answers, scores or entries"),
        (lambda r: InstrumentResponse.objects.filter(pk=r["odi"].pk).update(assessed_on=PERFORMED + timedelta(days=200)),
         "every instrument response lies in its timepoint's window"),
    ],
    ids=["changed score", "changed answers", "score row lost", "changed mme", "missing with answers", "outside window"],
)
def test_db_check_finds_stored_instrument_data_that_disagrees_with_the_definitions(procedure, corrupt, check):
    responses = {
        "odi": instrument_response_record(procedure=procedure, instrument="odi", assessed_on=BASELINE, answers=ODI_ALL_TWOS),
        "analgesics": instrument_response_record(procedure=procedure, instrument="analgesics", assessed_on=BASELINE,
                                                 answers={"entries": [{"drug": "tramadol", "dose": 50, "unit": "mg", "route": "oral", "doses_per_day": 2}]}),  # fmt: skip
        "missing": instrument_missing_record(procedure=procedure, instrument="eq5d5l", timepoint="3m", missing_reason="declined"),
    }
    corrupt(responses)
    problems = _instrument_problems()
    assert problems[check] >= 1
    assert all(count == 0 for name, count in problems.items() if name != check)


def test_a_procedure_date_that_would_move_an_instrument_out_of_its_window_is_refused(procedure):
    from vertebro.registry.services.capture import procedure_update

    instrument_response_record(procedure=procedure, instrument="rdq24", assessed_on=PERFORMED + timedelta(days=30), answers={"rdq_01": 1})
    treated = [(level.fracture, level.cement_ml) for level in procedure.treated_levels.all()]
    with pytest.raises(DomainError, match=r"1m rdq24 of 2012-07-15"):
        procedure_update(procedure=procedure, expected_version=procedure.version, changes={"performed_on": PERFORMED + timedelta(days=25)}, treated=treated)
