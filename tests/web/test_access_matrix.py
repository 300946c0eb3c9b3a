"""Every URL pattern of the web app, for every role, at the user's own site and at the other site.

The rules below name each URL of ``vertebro.registry.web.urls``; a new URL without a rule fails
:func:`test_every_url_pattern_has_an_access_rule`, so no view escapes the matrix. Each view is then
requested (GET and POST) by named users holding each role at site A, each role at site B, a user with
different roles at the two sites, a superuser and an anonymous visitor, always for site A's records.
A denied request must write nothing, and a page must never show identifiers the reader may not see.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, reverse

from vertebro.registry.services.clinical import eligibility_record, patient_create, site_mrn_systems_set
from vertebro.registry.services.voiding import pain_assessment_void
from vertebro.registry.web import urls as web_urls
from roster import EDIT_ROLES, USERS, add_roster

PUBLIC, LOGOUT, ANY_MEMBER, EDITOR_ANYWHERE, SITE_READ, SITE_EDIT, SITE_OVERRIDE, PATIENT_LINK = (
    "public", "logout", "any member", "editor anywhere", "site read", "site edit", "site override", "patient link",
)
#: Reports and exports: admin, investigator or analyst somewhere; the export takes a POST (GET: 405).
ANALYST_ANYWHERE, ANALYST_POST = "analyst anywhere", "analyst post"
#: URL name → (rule, the record of site A whose id the URL takes, or None).
RULES: dict[str, tuple[str, str | None]] = {
    "login": (PUBLIC, None),
    "healthz": (PUBLIC, None),
    "session_status": (PUBLIC, None),  # says 0 seconds left to an ended session
    "logout": (LOGOUT, None),
    "dashboard": (ANY_MEMBER, None),
    "patients": (ANY_MEMBER, None),
    "patient_new": (EDITOR_ANYWHERE, None),
    "worklist": (EDITOR_ANYWHERE, None),
    "patient": (SITE_READ, "patient"),
    "patient_history": (SITE_READ, "patient"),
    "patient_contact": (SITE_EDIT, "patient"),  # addresses: only roles that see identifiers (all editing roles)
    "record_history": (SITE_READ, "history"),
    "patient_edit": (SITE_EDIT, "patient"),
    "fracture_new": (SITE_EDIT, "patient"),
    "fracture_edit": (SITE_EDIT, "fracture"),
    "eligibility_new": (SITE_EDIT, "patient"),
    "procedure_new": (SITE_EDIT, "patient"),
    "procedure_edit": (SITE_EDIT, "procedure"),
    "complication_new": (SITE_EDIT, "procedure"),
    "complication_edit": (SITE_EDIT, "complication"),
    "pain_new": (SITE_EDIT, "procedure"),
    "pain_edit": (SITE_EDIT, "pain"),
    "follow_up_new": (SITE_EDIT, "procedure"),
    "follow_up_edit": (SITE_EDIT, "follow_up"),
    "eligibility_override": (SITE_OVERRIDE, "blocked_eligibility"),
    # Issue 13: editors void a record entered in error; investigators and admins restore it.
    "void": (SITE_EDIT, "void"),
    "restore": (SITE_OVERRIDE, "voided"),
    "downloads": (ANALYST_ANYWHERE, None),
    "download_report": (ANALYST_ANYWHERE, None),
    "download_export": (ANALYST_POST, None),
    # The patient's pages (issue 9): no login; the token is the credential, so an unknown one is a 404
    # for everybody, staff included (tests/invitations/test_patient_page.py tests real tokens).
    "respond_thanks": (PUBLIC, None),
    "respond": (PATIENT_LINK, "token"),
    "respond_stop": (PATIENT_LINK, "token"),
}
ANALYSIS_ROLES = {"admin", "investigator", "analyst"}
HISTORY_KINDS = {"patient": "patient", "fracture": "fracture", "procedure": "procedure", "complication": "complication",
                 "pain": "pain", "follow-up": "follow_up", "eligibility": "eligibility"}
VOID_KINDS = {"fracture": "fracture", "procedure": "procedure", "pain": "pain", "follow-up": "follow_up"}


def _web_url_names() -> set[str]:
    return {p.name for p in web_urls.urlpatterns if isinstance(p, URLPattern)}


def test_every_url_pattern_has_an_access_rule():
    assert _web_url_names() == set(RULES), "every URL of the web app needs a rule (and a test) here"


def _expected_get(rule: str, username: str) -> int:
    role_a, role_b = USERS[username]
    if rule == PUBLIC:
        return 200
    if rule == PATIENT_LINK:
        return 404
    if username == "anonymous":
        return 302
    if rule == LOGOUT:
        return 405  # logging out takes a POST
    if rule == ANY_MEMBER:
        return 200
    if rule == EDITOR_ANYWHERE:
        return 200 if {role_a, role_b} & EDIT_ROLES else 403
    if rule in (ANALYST_ANYWHERE, ANALYST_POST):
        allowed = 200 if rule == ANALYST_ANYWHERE else 405
        return allowed if {role_a, role_b} & ANALYSIS_ROLES else 403
    if role_a is None:
        return 404  # another site's record looks exactly like a missing one
    if rule == SITE_READ:
        return 200
    if rule == SITE_EDIT:
        return 200 if role_a in EDIT_ROLES else 403
    return 200 if role_a in {"admin", "investigator"} else 403  # SITE_OVERRIDE


@pytest.fixture
def matrix(world, django_user_model):
    add_roster(world, django_user_model)
    blocked = patient_create(study_id="VPA0002", site=world.site_a, sex="M", age_at_index=80, user=world.users["coordinator_a"])
    checklist = eligibility_record(patient=blocked, assessed_on=date.today(), indications=["osteoporotic_refractory"],
                                   absolute=["coagulopathy"], relative=[], user=world.users["coordinator_a"])
    site_mrn_systems_set(site=world.site_a, systems=["http://hospital-a.example.org"])  # the admin shows them read-only
    baseline = world.procedure_a.pain_assessments.get(timepoint="baseline")
    voided = pain_assessment_void(record=baseline, user=world.users["coordinator_a"], reason="entered twice", version=baseline.version)
    return world, checklist.pk, voided.pk


def _history_rows() -> int:
    return sum(m.objects.count() for m in apps.get_app_config("registry").get_models() if m.__name__.startswith("Historical"))


def _urls(name: str, key: str | None, ids: dict) -> list[str]:
    if key is None:
        return [reverse(f"web:{name}")]
    if key == "token":
        return [reverse(f"web:{name}", kwargs={"token": "x" * 43})]
    if key == "history":
        return [reverse("web:record_history", kwargs={"kind": kind, "pk": ids[k]}) for kind, k in HISTORY_KINDS.items()]
    if key == "void":
        return [reverse("web:void", kwargs={"kind": kind, "pk": ids[k]}) for kind, k in VOID_KINDS.items()]
    if key == "voided":
        return [reverse("web:restore", kwargs={"kind": "pain", "pk": ids["voided"]})]
    kwarg = {"patient": "patient_pk", "procedure": "procedure_pk"}.get(key) if name.endswith("_new") else "pk"
    return [reverse(f"web:{name}", kwargs={kwarg: ids[key]})]


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_view_for_every_role_at_both_sites(matrix, name):
    world, blocked_eligibility, voided = matrix
    rule, key = RULES[name]
    ids = world.record(world.patient_a) | {"blocked_eligibility": blocked_eligibility, "voided": voided}
    name_a, mrn_a, dob_a = world.phi_a
    failures = []
    for username, (role_a, _) in USERS.items():
        client = Client() if username == "anonymous" else world.client(username)
        for url in _urls(name, key, ids):
            expected = _expected_get(rule, username)
            if rule == PUBLIC and name == "login" and username != "anonymous":
                expected = 302  # a logged-in user is sent on to the dashboard
            response = client.get(url)
            if response.status_code != expected:
                failures.append(f"GET {url} as {username}: {response.status_code}, expected {expected}")
            body = response.content.decode(errors="replace")
            if role_a is None and "VPA0001" in body:
                failures.append(f"GET {url} as {username} shows site A's study id")
            if role_a not in EDIT_ROLES and (name_a in body or mrn_a in body or dob_a.isoformat() in body):
                failures.append(f"GET {url} as {username} shows a name, MRN or date of birth")
            if rule == ANALYST_POST and expected == 405:
                continue  # allowed: tests/web/test_downloads.py posts exports
            if rule in (PUBLIC, LOGOUT, ANY_MEMBER, PATIENT_LINK) or expected == 200 or name == "eligibility_override" and expected == 302:
                continue
            # Denied: a POST is denied too (405 for read-only views) and writes nothing.
            before = _history_rows()
            posted = client.post(url, {"version": "1", "score": "1", "assessed_on": "2020-01-01", "level": "L3",
                                       "etiology": "osteoporotic", "reason": "x" * 20, "study_id": "VPX9999"})
            if posted.status_code not in {expected, 405}:
                failures.append(f"POST {url} as {username}: {posted.status_code}, expected {expected}")
            if _history_rows() != before:
                failures.append(f"POST {url} as {username} wrote to the registry")
    assert not failures, "\n".join(failures)


# --- the Django admin: every URL of every clinical and audit model, GET and POST ------------------

#: Admin URL names (after ``registry_<model>_``) and the GET status a superuser gets. The admin shows
#: clinical, import and export records and their history; it never adds, changes, deletes or reverts.
ADMIN_VIEWS = {"changelist": 200, "change": 200, "history": 200, "simple_history": 200, "add": 403, "delete": 403}
#: Staff who could write if the admin let them: a superuser, and staff holding every permission of
#: the registry's models; and a non-staff account (sent to the admin login).
ADMIN_USERS = ("superuser", "staff_all_permissions", "coordinator_a")


def _registry_fingerprint() -> dict[str, int]:
    """A hash of every row of every registry table (clinical, history, imports, exports, sites, roles)."""
    return {
        m._meta.db_table: hash(repr(list(m.objects.order_by("pk").values())))
        for m in apps.get_app_config("registry").get_models()
    }


def _admin_targets(world):
    """(model admin, record, its newest history row or None) for every clinical and audit model."""
    from django.contrib import admin

    from vertebro.registry.models import ExportLog, ImportBatch, Site, StaffMembership
    from vertebro.registry.services.imports import import_batch_finish, import_batch_start

    batch = import_batch_start(file_name="cohort.csv", file_sha256="0" * 64, file_format="csv", os_user="registrar")
    import_batch_finish(batch=batch, status="committed", rows_read=1)
    ExportLog.objects.create(os_user="registrar", file_format="csv", deidentified=True, destination="x.csv", rows=1)
    targets = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "registry" or model in (Site, StaffMembership):
            continue
        record = model.objects.order_by("pk").first()
        assert record is not None, f"the world has no {model.__name__}"
        history = record.history.order_by("-history_id").first() if hasattr(record, "history") else None
        targets.append((model, model_admin, record, history))
    assert {m for m, *_ in targets} >= {ImportBatch, ExportLog}
    return targets


def _admin_urls(model, model_admin, record, history) -> list[tuple[str, str]]:  # noqa: ANN001
    """(view, URL) for every URL pattern of a model admin; a pattern without a rule fails the test."""
    prefix = f"registry_{model._meta.model_name}_"
    urls = []
    for pattern in model_admin.get_urls():
        if pattern.name is None:  # "<object_id>/": a redirect to the change page
            urls.append(("redirect", f"/admin/registry/{model._meta.model_name}/{record.pk}/"))
            continue
        view = pattern.name.removeprefix(prefix)
        assert view in ADMIN_VIEWS, f"admin URL {pattern.name} has no rule in ADMIN_VIEWS"
        if view in ("changelist", "add"):
            args = []
        elif view == "simple_history":
            if history is None:
                continue
            args = [record.pk, history.history_id]
        else:
            args = [record.pk]
        urls.append((view, reverse(f"admin:{pattern.name}", args=args)))
    return urls


def _form_data(record) -> dict:  # noqa: ANN001
    """What a browser would post on the record's change (or revert) form: every field, one changed."""
    from django.forms.models import model_to_dict

    data = {k: ("" if v is None else v) for k, v in model_to_dict(record).items() if not isinstance(v, (list, dict))}
    if "sex" in data:
        data["sex"] = "M" if data["sex"] == "F" else "F"
    return data | {"_save": "Save", "post": "yes", "action": "delete_selected", "_selected_action": [record.pk]}


def test_no_admin_url_writes_a_clinical_or_audit_record(matrix, django_user_model):
    from django.contrib.auth.models import Permission

    world, *_ = matrix
    staff = django_user_model.objects.create_user("staff_all_permissions", password=world.password, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="registry"))
    world.users["staff_all_permissions"] = staff
    targets = _admin_targets(world)
    failures, requests = [], 0
    for model, model_admin, record, history in targets:
        for view, url in _admin_urls(model, model_admin, record, history):
            for username in ADMIN_USERS:
                client = world.client(username)
                got = client.get(url).status_code
                requests += 1
                expected = 302 if username == "coordinator_a" or view == "redirect" else ADMIN_VIEWS[view]
                if got != expected:
                    failures.append(f"GET {url} as {username}: {got}, expected {expected}")
                before = _registry_fingerprint()
                source = history.instance if view == "simple_history" else record
                posted = client.post(url, _form_data(source)).status_code
                requests += 1
                if username != "coordinator_a" and posted != 405:
                    failures.append(f"POST {url} as {username}: {posted}, expected 405 (no write through the admin)")
                if _registry_fingerprint() != before:
                    failures.append(f"POST {url} as {username} changed the registry")
    assert requests > 300
    assert not failures, "\n".join(failures)
