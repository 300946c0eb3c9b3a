"""Registries for the browser tests, written through the services (run inside `vertebro manage shell`).

``every_page``: two sites; at SITE-A a patient with a full record (fracture, checklist, procedure 20
days ago with a complication, scores and a follow-up), a patient whose checklist blocks the procedure,
and enough treated patients that the patient list and the worklist run to a second page; a user of
every role. Study ids of the paging patients are VPP0001… so that a search finds them all.
"""

from __future__ import annotations

from datetime import date, timedelta


PASSWORD = "browser-test-pass-42"
#: username -> (site code, role); ``superuser`` is an administrator of everything.
USERS = {
    "coord_a": ("SITE-A", "coordinator"),
    "inv_a": ("SITE-A", "investigator"),
    "analyst_a": ("SITE-A", "analyst"),
    "admin_a": ("SITE-A", "admin"),
    "coord_b": ("SITE-B", "coordinator"),
}
PAGING_PATIENTS = 60
TREATED_PAGING_PATIENTS = 30  # each leaves post and 1-week overdue and 1-month due: 90 worklist items


def every_page() -> None:
    # Imported here: the test process imports this module for USERS, where `conftest` may be another folder's.
    from conftest import NAME_A, NAME_B, _full_record
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from vertebro.registry.services.accounts import membership_set
    from vertebro.registry.services.clinical import eligibility_record, fracture_create, patient_create, procedure_create, site_create

    sites = {"SITE-A": site_create(code="SITE-A", name="Site A"), "SITE-B": site_create(code="SITE-B", name="Site B")}
    hashed = make_password(PASSWORD)
    users = {}
    for username, (site, role) in USERS.items():
        users[username] = get_user_model().objects.create(username=username, password=hashed)
        membership_set(user=users[username], site=sites[site], role=role)
    get_user_model().objects.create(username="superuser", password=hashed, is_staff=True, is_superuser=True)
    coordinator = users["coord_a"]
    _full_record(sites["SITE-A"], study_id="VPA0001", name=NAME_A, mrn="MRN-A-1", dob=date(1941, 7, 19), user=coordinator)
    _full_record(sites["SITE-B"], study_id="VPB0001", name=NAME_B, mrn="MRN-B-1", dob=date(1938, 2, 3), user=users["coord_b"])
    blocked = patient_create(study_id="VPA0002", site=sites["SITE-A"], sex="M", age_at_index=70, user=coordinator)
    fracture_create(patient=blocked, level="L2", etiology="pathologic", pathologic_cause="myeloma", pathologic_basis="biopsy", user=coordinator)
    eligibility_record(patient=blocked, assessed_on=date.today(), indications=["osteolytic_metastasis"], absolute=["allergy"], relative=[], user=coordinator)
    performed = date.today() - timedelta(days=20)
    for number in range(1, PAGING_PATIENTS + 1):
        patient = patient_create(study_id=f"VPP{number:04d}", site=sites["SITE-A"], sex="F", age_at_index=60 + number % 30, user=coordinator)
        if number <= TREATED_PAGING_PATIENTS:
            fracture = fracture_create(patient=patient, level="T10", etiology="osteoporotic", user=coordinator)
            eligibility_record(patient=patient, assessed_on=performed, indications=["osteoporotic_refractory"], absolute=[], relative=[], user=coordinator)
            procedure_create(patient=patient, performed_on=performed, treated=[(fracture, 3.0)], user=coordinator)
