"""The registry's instrument scores as the statistics' score frame, and storing an answer file:
all or nothing with line-level errors, re-storing changes nothing, a changed answer is an update."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from vertebro.registry.models import InstrumentResponse, InstrumentScore, Site
from vertebro.registry.selectors.instrument_scores import instrument_score_frame
from vertebro.registry.services.instrument_import import instrument_answers_store
from vertebro.registry.services.instruments import instrument_missing_record, instrument_response_record
from vertebro.stats.instrument_scores import SCORE_COLUMNS, load_instrument_csv
from vertebro.stats.validate import FlatDataError, read_csv_as_text

ODI_ALL_TWOS = {f"odi_{n:02d}": 2 for n in range(1, 11)}


@pytest.fixture
def synthetic_registry(db, tmp_path):
    """A small synthetic cohort imported into the registry, with its instrument answer file."""
    from vertebro.interop.importer import import_flat_file
    from vertebro.synth import CohortParameters, site_codes, write_cohort

    params = CohortParameters(sites=site_codes(2))
    for code in params.sites:
        Site.objects.create(code=code, name=code)
    cohort, answers = tmp_path / "cohort.csv", tmp_path / "answers.csv"
    write_cohort(cohort, patients=12, seed=3, params=params, instruments_out=answers)
    import_flat_file(path=cohort)
    return answers


def _store(path):  # noqa: ANN001
    return instrument_answers_store(frame=read_csv_as_text(path, kind="an answer file", rows="one line per answer"), source_name=str(path))


def test_stored_synthetic_answers_give_the_file_scores_back(synthetic_registry):
    counts = _store(synthetic_registry)
    assert counts.created > 0 and counts.updated == counts.unchanged == 0
    from_registry = instrument_score_frame()
    from_file = load_instrument_csv(synthetic_registry)
    key = ["patient_id", "measure", "timepoint"]
    merged = from_registry.merge(from_file, on=key, suffixes=("_db", "_file"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert merged["score_db"].to_numpy() == pytest.approx(merged["score_file"].to_numpy(), rel=0, abs=1e-12)
    assert (merged["days_db"] == merged["days_file"]).all()
    assert list(from_registry.columns) == list(SCORE_COLUMNS)


def test_storing_the_same_file_again_changes_nothing(synthetic_registry):
    first = _store(synthetic_registry)
    history = InstrumentResponse.history.count()
    again = _store(synthetic_registry)
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    assert InstrumentResponse.history.count() == history


def test_a_changed_answer_is_an_update_with_history(synthetic_registry, tmp_path):
    _store(synthetic_registry)
    rows = pd.read_csv(synthetic_registry, dtype=str, keep_default_na=False)
    target = rows.index[(rows["item"] == "rdq_01") & (rows["timepoint"] == "baseline")][0]
    rows.loc[target, "answer"] = "0" if rows.loc[target, "answer"] == "1" else "1"
    changed = tmp_path / "changed.csv"
    rows.to_csv(changed, index=False)
    counts = _store(changed)
    assert counts.updated == 1 and counts.created == 0
    response = InstrumentResponse.objects.get(patient__study_id=rows.loc[target, "patient_id"], instrument="rdq24", timepoint="baseline")
    assert response.version == 2 and response.history.count() == 2


def test_a_broken_file_is_refused_line_by_line_and_writes_nothing(synthetic_registry, tmp_path):
    rows = pd.read_csv(synthetic_registry, dtype=str, keep_default_na=False)
    odi = rows.index[rows["item"] == "odi_03"][0]
    rows.loc[odi, "answer"] = "7"
    rows.loc[len(rows)] = {"patient_id": "NOBODY", "instrument": "rdq24", "timepoint": "baseline", "days": "-1", "instance": "", "item": "rdq_01", "answer": "1"}
    broken = tmp_path / "broken.csv"
    rows.to_csv(broken, index=False)
    with pytest.raises(FlatDataError) as refused:
        _store(broken)
    found = {(p.line, p.column) for p in refused.value.problems}
    assert (odi + 2, "answer") in found and (len(rows) + 1, "patient_id") in found
    assert any("odi_03" in p.rule and "must be one of" in p.rule for p in refused.value.problems)
    assert not InstrumentResponse.objects.exists() and not InstrumentScore.objects.exists()


def test_the_score_frame_leaves_out_missing_assessments_unscorable_answers_and_later_procedures(procedure, fracture):
    baseline = procedure.performed_on - timedelta(days=1)
    instrument_response_record(procedure=procedure, instrument="odi", assessed_on=baseline, answers=ODI_ALL_TWOS)
    instrument_response_record(procedure=procedure, instrument="odi", assessed_on=procedure.performed_on + timedelta(days=30),
                               answers={**ODI_ALL_TWOS, "odi_01": None, "odi_02": None})  # fmt: skip
    instrument_missing_record(procedure=procedure, instrument="rdq24", timepoint="3m", missing_reason="declined")
    from vertebro.registry.services.clinical import procedure_create

    later = procedure_create(patient=procedure.patient, performed_on=date(2014, 1, 10), treated=[(fracture, 2.0)])
    instrument_response_record(procedure=later, instrument="odi", assessed_on=later.performed_on, answers=ODI_ALL_TWOS, timepoint="baseline")
    frame = instrument_score_frame()
    assert frame.to_dict("records") == [
        {"patient_id": "VP000001", "instrument": "odi", "measure": "odi", "timepoint": "baseline", "days": -1, "score": pytest.approx(40.0)}
    ]
    assert instrument_score_frame(site_codes=["SITE-B"]).empty


def test_the_registry_summary_counts_responses_and_missing_instruments(procedure):
    from vertebro.registry.selectors.summary import registry_counts

    instrument_response_record(procedure=procedure, instrument="odi", assessed_on=procedure.performed_on, answers=ODI_ALL_TWOS, timepoint="baseline")
    instrument_missing_record(procedure=procedure, instrument="odi", timepoint="3m", missing_reason="died")
    counts = registry_counts()
    assert (counts["instrument responses"], counts["instruments recorded as missing"]) == (1, 1)
