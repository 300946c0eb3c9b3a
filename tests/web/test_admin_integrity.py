"""The Django admin writes no clinical record (no revert behind optimistic locking), deletes no
account the audit trail names (it offers deactivation instead of an HTTP 500), and sends a
Content-Security-Policy. The URL-by-URL proof for every role is in ``test_access_matrix``."""

from __future__ import annotations

import re

from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from vertebro.registry.models import Patient, Site


def _revert_url(patient: Patient) -> tuple[str, dict]:
    history = patient.history.order_by("-history_id").first()
    data = {k: ("" if v is None else v) for k, v in model_to_dict(history.instance).items()}
    return reverse("admin:registry_patient_simple_history", args=[patient.pk, history.history_id]), data


def test_history_revert_is_refused_so_no_edit_is_silently_lost(world):
    patient = world.patient_a
    url, data = _revert_url(patient)
    admin = world.client("superuser")
    page = admin.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # shown, no revert button
    response = admin.post(url, data | {"sex": "M", "_save": "Save"})
    assert response.status_code == 405
    patient.refresh_from_db()
    assert (patient.sex, patient.version, patient.history.count()) == ("F", 1, 1)
    # A coordinator's form opened before still saves, with no conflict page: nothing was changed behind it.
    form = {"version": 1, "study_id": patient.study_id, "site": patient.site_id, "sex": "F",
            "birth_date": world.phi_a[2].isoformat(), "mrn": world.phi_a[1], "name": "Ada Q. Quimby"}
    saved = world.client("coordinator_a").post(reverse("web:patient_edit", kwargs={"pk": patient.pk}), form)
    assert saved.status_code == 302
    patient.refresh_from_db()
    assert (patient.name, patient.version) == ("Ada Q. Quimby", 2)


def test_an_account_the_audit_trail_names_is_deactivated_not_deleted(world):
    coordinator = world.users["coordinator_a"]
    admin = world.client("superuser")
    url = reverse("admin:auth_user_delete", args=[coordinator.pk])
    page = admin.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "cannot be deleted" in html and "Deactivate the account instead" in html
    assert re.search(r"\d+ audit trail entries naming coordinator_a", html)
    refused = admin.post(url, {"post": "yes"})
    assert refused.status_code == 200  # the same page again, not an HTTP 500
    coordinator.refresh_from_db()
    assert coordinator.is_active
    signed_in = world.client("coordinator_a")
    assert signed_in.get(reverse("web:dashboard")).status_code == 200

    deactivated = admin.post(reverse("admin:auth_user_deactivate", args=[coordinator.pk]))
    assert deactivated.status_code == 302
    coordinator.refresh_from_db()
    assert not coordinator.is_active
    assert signed_in.get(reverse("web:dashboard")).status_code == 302  # its session no longer works
    login = Client().post(reverse("web:login"), {"username": "coordinator_a", "password": world.password})
    assert login.status_code == 200  # the login form again: no way in
    assert Patient.history.filter(history_user=coordinator).exists()  # the trail still names it


def test_bulk_delete_of_audited_accounts_is_refused_with_the_reason(world):
    coordinator = world.users["coordinator_a"]
    response = world.client("superuser").post(reverse("admin:auth_user_changelist"), {
        "action": "delete_selected", "_selected_action": [coordinator.pk], "post": "yes"})
    assert response.status_code == 200 and "audit trail entries naming coordinator_a" in response.content.decode()
    coordinator.refresh_from_db()
    assert coordinator.is_active


def test_deactivation_takes_a_post_and_the_right_to_change_accounts(world):
    url = reverse("admin:auth_user_deactivate", args=[world.users["coordinator_a"].pk])
    assert world.client("superuser").get(url).status_code == 405
    world.users["analyst_a"].is_staff = True
    world.users["analyst_a"].save()
    assert world.client("analyst_a").post(url).status_code == 403
    world.users["coordinator_a"].refresh_from_db()
    assert world.users["coordinator_a"].is_active


def test_an_account_nobody_names_can_still_be_deleted(world, django_user_model):
    stray = django_user_model.objects.create_user("typo_account", password=world.password)
    response = world.client("superuser").post(reverse("admin:auth_user_delete", args=[stray.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not django_user_model.objects.filter(username="typo_account").exists()


def test_admin_pages_carry_a_content_security_policy(world):
    admin = world.client("superuser")
    pages = ["/admin/", reverse("admin:registry_patient_changelist"),
             reverse("admin:registry_patient_change", args=[world.patient_a.pk]),
             reverse("admin:registry_patient_history", args=[world.patient_a.pk]), _revert_url(world.patient_a)[0],
             reverse("admin:auth_user_delete", args=[world.users["coordinator_a"].pk])]
    for page in [*pages, "/admin/login/"]:
        response = (Client() if page == "/admin/login/" else admin).get(page)
        policy = response.get("Content-Security-Policy", "")
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
            assert directive in policy, (page, policy)
        assert "'unsafe-inline'" not in policy.split("style-src-attr")[0] and "unsafe-eval" not in policy
        scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
        assert all("src=" in tag for tag in scripts), (page, scripts)  # no inline script the policy would block


def test_the_admin_refuses_a_formula_site_code(world):
    response = world.client("superuser").post("/admin/registry/site/add/", {"code": "=cmd|'/C calc'!A0", "name": "Evil"})
    assert response.status_code == 200 and "a site code is 1 to 32 ASCII letters and digits" in response.content.decode()
    assert not Site.objects.filter(name="Evil").exists()
