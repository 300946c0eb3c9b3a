from datetime import date

import pytest

from vertebro.registry.services.clinical import (
    fracture_create,
    patient_create,
    procedure_create,
    site_create,
)


@pytest.fixture
def site(db):
    return site_create(code="SITE-A", name="Site A")


@pytest.fixture
def patient(site):
    return patient_create(study_id="VP000001", site=site, sex="F", birth_date=date(1940, 6, 15), mrn="MRN123", name="Ada Lovelace")


@pytest.fixture
def fracture(patient):
    return fracture_create(patient=patient, level="L1", etiology="osteoporotic")


@pytest.fixture
def procedure(patient, fracture):
    return procedure_create(patient=patient, performed_on=date(2012, 6, 15), treated=[(fracture, 4.5)])
