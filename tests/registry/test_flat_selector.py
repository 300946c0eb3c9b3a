from datetime import date

import pandas as pd

from vertebro.domain.flat import FLAT_COLUMNS
from vertebro.registry.selectors import flat_assessments_df
from vertebro.registry.services.clinical import (
    follow_up_record,
    fracture_create,
    pain_assessment_record,
    patient_create,
    procedure_create,
    site_create,
)


def build_registry():
    site_a = site_create(code="SITE-A", name="A")
    site_b = site_create(code="SITE-B", name="B")
    ada = patient_create(study_id="VP1", site=site_a, sex="F", birth_date=date(1940, 6, 16), name="Ada")
    l1 = fracture_create(patient=ada, level="L1", etiology="osteoporotic")
    t12 = fracture_create(patient=ada, level="T12", etiology="osteoporotic")
    index = procedure_create(patient=ada, performed_on=date(2012, 6, 15), treated=[(l1, 4.0), (t12, 3.5)])
    pain_assessment_record(procedure=index, assessed_on=date(2012, 6, 1), score=8)
    pain_assessment_record(procedure=index, assessed_on=date(2012, 6, 16), score=3, venue="neurointerventional_clinic")
    visit = follow_up_record(procedure=index, seen_on=date(2012, 8, 1), venue="pain_clinic", recurrent_pain=True)
    pain_assessment_record(procedure=index, assessed_on=date(2012, 8, 1), score=6, follow_up=visit)
    l3 = fracture_create(patient=ada, level="L3", etiology="osteoporotic")
    later = procedure_create(patient=ada, performed_on=date(2013, 1, 10), treated=[(l3, 5)])
    pain_assessment_record(procedure=later, assessed_on=date(2013, 1, 1), score=9)  # not the index procedure

    bob = patient_create(study_id="VP2", site=site_b, sex="M", age_at_index=95)
    meta = fracture_create(patient=bob, level="T8", etiology="pathologic", pathologic_cause="metastasis",
                           pathologic_basis="biopsy")
    op = procedure_create(patient=bob, performed_on=date(2012, 3, 1), treated=[(meta, None)])
    pain_assessment_record(procedure=op, assessed_on=date(2012, 3, 1), score=9, after_procedure=False)


def test_flat_format_has_one_row_per_assessment_of_the_index_procedure(db):
    build_registry()
    flat = flat_assessments_df()
    assert tuple(flat.columns[: len(FLAT_COLUMNS)]) == FLAT_COLUMNS
    ada = flat[flat.patient_id == "VP1"]
    assert ada.timepoint.tolist() == ["baseline", "post", "1m"]
    assert ada.days.tolist() == [-14, 1, 47]
    assert ada.vps.tolist() == [8.0, 3.0, 6.0]
    assert ada.age.unique().tolist() == [71]  # birthday on the 16th, procedure on the 15th
    assert ada.levels.unique().tolist() == ["T12;L1"]
    assert ada.cement_ml.unique().tolist() == [7.5]
    assert ada.venue.tolist()[1:] == ["neurointerventional_clinic", "pain_clinic"]
    assert pd.isna(ada.recurrent_pain.iloc[0]) and ada.recurrent_pain.iloc[2] == 1
    assert ada.procedure_date.unique().tolist() == [date(2012, 6, 15)]


def test_flat_format_keeps_identifiers_out_unless_asked_and_filters_sites(db):
    build_registry()
    assert "name" not in flat_assessments_df().columns
    bob = flat_assessments_df(site_codes=["SITE-B"])
    assert bob.patient_id.tolist() == ["VP2"] and bob.etiology.tolist() == ["pathologic"]
    assert bob.age.tolist() == [95] and pd.isna(bob.cement_ml.iloc[0])
    assert flat_assessments_df(include_identifiers=True).loc[0, "name"] == "Ada"


def test_empty_registry_gives_empty_frame_with_the_columns(db):
    flat = flat_assessments_df()
    assert flat.empty and tuple(flat.columns[: len(FLAT_COLUMNS)]) == FLAT_COLUMNS
