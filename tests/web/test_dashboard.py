"""Dashboard figures, per-site limits, and the cache that any write invalidates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from vertebro.registry.models import Patient
from vertebro.registry.selectors.dashboard import dashboard_for_sites, site_aggregates
from vertebro.registry.services.bulk import records_bulk_create
from vertebro.registry.services.clinical import fracture_create, pain_assessment_record, patient_create, procedure_create


def test_figures_of_the_two_sites(world):
    data = dashboard_for_sites(site_ids=[world.site_a.pk, world.site_b.pk], today=date.today())
    assert [(s.site_code, s.by_group["osteoporotic"], s.total) for s in data.patients] == [("SITE-A", 1, 1), ("SITE-B", 1, 1)]
    capture = {c.timepoint.code: (c.eligible, c.captured, c.rate) for c in data.capture}
    # Procedures 20 days ago: baseline, post and 1 week windows have closed, each with a score.
    assert capture["baseline"] == capture["post"] == capture["1w"] == (2, 2, 1.0)
    assert capture["1m"] == capture["12m"] == (0, 0, None)
    means = {(m.timepoint.code, m.group): (m.n, m.mean) for m in data.pain}
    assert means[("baseline", "osteoporotic")] == (2, 8.0) and means[("post", "osteoporotic")] == (2, 3.0)
    assert means[("1w", "osteoporotic")] == (2, 2.0) and means[("baseline", "pathologic")] == (0, None)


def test_capture_counts_only_windows_that_have_closed(world):
    patient = patient_create(study_id="VPD0001", site=world.site_a, sex="M", age_at_index=66)
    fracture = fracture_create(patient=patient, level="T10", etiology="pathologic", pathologic_cause="myeloma", pathologic_basis="biopsy")
    procedure = procedure_create(patient=patient, performed_on=date.today() - timedelta(days=400), treated=[(fracture, 5.0)])
    pain_assessment_record(procedure=procedure, assessed_on=procedure.performed_on + timedelta(days=300), score=1)
    data = dashboard_for_sites(site_ids=[world.site_a.pk], today=date.today())
    capture = {c.timepoint.code: c for c in data.capture}
    assert (capture["6m"].eligible, capture["6m"].captured) == (1, 0)
    assert (capture["12m"].eligible, capture["12m"].captured) == (0, 0)  # 12m window still open at day 400
    means = {(m.timepoint.code, m.group): (m.n, m.mean) for m in data.pain}
    assert means[("12m", "pathologic")] == (1, 1.0)


def test_patients_without_fracture_count_apart(world):
    patient_create(study_id="VPD0002", site=world.site_a, sex="F", age_at_index=70)
    data = dashboard_for_sites(site_ids=[world.site_a.pk], today=date.today())
    assert data.patients[0].by_group["none"] == 1 and data.patient_total == 2


def test_coordinator_dashboard_shows_only_their_site(world):
    html = world.client("coordinator_a").get(reverse("web:dashboard")).content.decode()
    assert "SITE-A" in html and "SITE-B" not in html
    assert "<svg" in html and "Mean pain score by timepoint and group" in html and "target 80%" in html


def test_second_load_comes_from_the_cache(world, django_assert_num_queries):
    site_aggregates(today=date.today())
    with django_assert_num_queries(1):  # the data version only
        site_aggregates(today=date.today())


def test_a_new_score_invalidates_the_cache(world):
    today = date.today()
    before = dashboard_for_sites(site_ids=[world.site_a.pk], today=today)
    assert {c.timepoint.code: c.captured for c in before.capture}["1m"] == 0
    pain_assessment_record(procedure=world.procedure_a, assessed_on=today - timedelta(days=1), score=1)
    after = dashboard_for_sites(site_ids=[world.site_a.pk], today=today)
    means = {(m.timepoint.code, m.group): m.n for m in after.pain}
    assert means[("1m", "osteoporotic")] == 1


def test_a_bulk_write_invalidates_the_cache(world):
    site_aggregates(today=date.today())
    records_bulk_create(records=[Patient(study_id=f"VPK{i}", site=world.site_a, sex="F", age_at_index=70) for i in range(3)])
    data = dashboard_for_sites(site_ids=[world.site_a.pk], today=date.today())
    assert data.patient_total == 4


def test_a_new_day_recomputes(world):
    today = date.today()
    site_aggregates(today=today)
    later = dashboard_for_sites(site_ids=[world.site_a.pk], today=today + timedelta(days=50))
    capture = {c.timepoint.code: c.eligible for c in later.capture}
    assert capture["1m"] == 1  # day 70 after the procedure: the 1 month window has closed


@pytest.mark.parametrize("role", ["analyst_a", "coordinator_b", "superuser"])
def test_dashboard_has_no_identifiers(world, role):
    html = world.client(role).get(reverse("web:dashboard")).content.decode()
    for value in (*world.phi_a[:2], *world.phi_b[:2], world.phi_a[2].isoformat()):
        assert value not in html


def test_while_one_request_computes_the_others_get_the_previous_figures(world):
    from django.core.cache import cache

    from vertebro.registry.selectors.data_version import registry_data_version

    today = date.today()
    first = site_aggregates(today=today)
    pain_assessment_record(procedure=world.procedure_a, assessed_on=today - timedelta(days=1), score=1)
    computing = f"vertebro-dashboard-{today.isoformat()}-{registry_data_version()}-computing"
    cache.add(computing, 1)  # another process is computing the new version
    stale = site_aggregates(today=today)
    assert not stale.current and stale.figures == first.figures
    html = world.client("coordinator_a").get(reverse("web:dashboard")).content.decode()
    assert "newer figures are being computed" in html
    cache.delete(computing)
    fresh = site_aggregates(today=today)
    assert fresh.current and fresh.figures != first.figures


def test_served_processes_share_a_cache_keyed_by_their_database(monkeypatch, tmp_path):
    import importlib

    import vertebro.registry.settings as settings_module

    prefixes = []
    try:
        for name in ("one.sqlite3", "two.sqlite3"):
            monkeypatch.setenv("VERTEBRO_CACHE_DIR", str(tmp_path / "cache"))
            monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / name}")
            caches = importlib.reload(settings_module).CACHES["default"]
            assert caches["BACKEND"].endswith("FileBasedCache") and caches["LOCATION"] == str(tmp_path / "cache")
            prefixes.append(caches["KEY_PREFIX"])
    finally:
        monkeypatch.undo()
        importlib.reload(settings_module)
    assert prefixes[0] != prefixes[1]


@pytest.mark.parametrize(("value", "shown"), [(300 / 301, "99%"), (1.0, "100%"), (0.7996, "79%"), (0.8, "80%"), (0.0, "0%"), (None, "—")])
def test_percentages_round_down_so_capture_looks_complete_only_when_it_is(value, shown):
    from vertebro.registry.web.templatetags import percent

    assert percent(value) == shown
