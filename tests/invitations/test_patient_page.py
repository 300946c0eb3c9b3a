"""The patient's page: two questions on two screens, no login, one friendly sentence for every
unusable link, rate-limited per address, the app's CSP, never the full name."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from vertebro.registry.models import Invitation, PainAssessment
from vertebro.registry.services.invitations import invitations_run
from vertebro.registry.services.senders import EmailSender
from vertebro.registry.web.views.respond import NOT_USABLE, TOO_MANY

from .conftest import treated_patient
from .test_invitation_service import token_in


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def token(smtp, due_patient):
    invitations_run(senders={"email": EmailSender()})
    return token_in(smtp.bodies_to("grace@example.org")[0])


def url(token: str) -> str:
    return reverse("web:respond", kwargs={"token": token})


def test_the_patient_answers_on_two_screens_without_logging_in(token, due_patient):
    client = Client()
    first = client.get(url(token))
    body = first.content.decode()
    assert first.status_code == 200 and "Question 1 of 2" in body and "Grace" in body
    for identifier in ("Hopper", "Brewster", "VP-100", "MRN"):
        assert identifier not in body
    assert 'href="' not in body.replace('href="/static/web/respond.css"', "")  # nothing else reachable
    second = client.post(url(token), {"score": "4"})
    assert second.status_code == 200 and "Question 2 of 2" in second.content.decode()
    assert not PainAssessment.objects.exists()  # nothing saved before the last screen
    done = client.post(url(token), {"score": "4", "recurrent_pain": "yes"})
    assert done.status_code == 302 and done["Location"] == reverse("web:respond_thanks")
    assert "Thank you" in client.get(done["Location"]).content.decode()
    score = PainAssessment.objects.get()
    assert (score.score, score.source, score.follow_up.recurrent_pain) == (4.0, "patient", True)
    assert not client.cookies  # no session, no CSRF cookie


def test_the_page_has_the_apps_csp_and_is_never_cached(token):
    response = Client().get(url(token))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("score", ["11", "-1", "4.5", "ten", "", "١"])
def test_an_answer_outside_0_to_10_is_refused_with_a_clear_message(token, score):
    response = Client().post(url(token), {"score": score, "recurrent_pain": "no"})
    assert response.status_code == 400
    assert "from 0 (no pain) to 10" in response.content.decode()
    assert not PainAssessment.objects.exists()


def test_a_used_link_gets_the_one_sentence(token):
    client = Client()
    client.post(url(token), {"score": "2", "recurrent_pain": "no"})
    again = client.get(url(token))
    assert again.status_code == 404 and NOT_USABLE in again.content.decode()
    assert client.post(url(token), {"score": "9", "recurrent_pain": "no"}).status_code == 404
    assert list(PainAssessment.objects.values_list("score", flat=True)) == [2.0]


def test_unknown_expired_and_withdrawn_links_look_alike(token, due_patient, site):
    from django.utils import timezone

    unknown = Client().get(url("A" * 43)).content.decode()
    Invitation.objects.update(closes_on=timezone.localdate() - timezone.timedelta(days=1))
    expired = Client().get(url(token)).content.decode()
    Invitation.objects.update(closes_on=timezone.localdate())
    type(due_patient).objects.filter(pk=due_patient.pk).update(withdrawn_on=timezone.localdate())
    withdrawn = Client().get(url(token)).content.decode()
    assert unknown == expired == withdrawn and NOT_USABLE in unknown


def test_a_link_answers_only_its_own_patients_invitation(smtp, token, site):
    other = treated_patient(site, "VP-200", days_ago=20, email="other@example.org", name="Alan Turing")
    invitations_run(senders={"email": EmailSender()})
    other_token = token_in(smtp.bodies_to("other@example.org")[0])
    Client().post(url(token), {"score": "1", "recurrent_pain": "no"})
    Client().post(url(other_token), {"score": "8", "recurrent_pain": "yes"})
    by_patient = dict(PainAssessment.objects.values_list("patient__study_id", "score"))
    assert by_patient == {"VP-100": 1.0, "VP-200": 8.0}
    assert NOT_USABLE in Client().get(url(other_token)).content.decode()  # answered: the one sentence now


def test_a_thousand_wrong_tokens_from_one_address_are_rate_limited(token, settings):
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(url(f"{i:043d}")).status_code for i in range(1000)]
    limit = settings.VERTEBRO_RESPONSE_RATE_PER_HOUR
    assert statuses[:limit] == [404] * limit and set(statuses[limit:]) == {429}
    # Limited, even a right token from that address waits; another address is not affected.
    assert TOO_MANY in client.get(url(token)).content.decode()
    assert Client(REMOTE_ADDR="198.51.100.7").get(url(token)).status_code == 200


def test_the_opt_out_link_asks_then_stops_every_message(token, due_patient):
    stop = reverse("web:respond_stop", kwargs={"token": token})
    client = Client()
    assert "Stop getting these messages?" in client.get(stop).content.decode()
    due_patient.refresh_from_db()
    assert due_patient.contact_opted_out_at is None  # a GET (a link preview) changes nothing
    assert "no more of these messages" in client.post(stop).content.decode()
    due_patient.refresh_from_db()
    assert due_patient.contact_opted_out_at is not None
    assert Invitation.objects.get().state == "opted_out"
    assert client.get(url(token)).status_code == 404


# --- what coordinators see ---------------------------------------------------------------------


@pytest.fixture
def staff(site, django_user_model):
    from vertebro.registry.services.accounts import membership_set
    from vertebro.registry.services.clinical import site_create

    users = {}
    other = site_create(code="SITE-B", name="Site B")
    for username, where, role in (("coordinator_a", site, "coordinator"), ("analyst_a", site, "analyst"), ("coordinator_b", other, "coordinator")):
        users[username] = django_user_model.objects.create_user(username, password="long-enough-password")
        membership_set(user=users[username], site=where, role=role)
    return users


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_coordinator_sees_the_invitations_and_their_states(token, due_patient, staff):
    page = _client(staff["coordinator_a"]).get(reverse("web:patient", kwargs={"pk": due_patient.pk})).content.decode()
    assert 'id="invitations"' in page and "Sent" in page and "1 sent" in page
    assert "grace@example.org" in page


def test_analyst_sees_states_but_never_the_address(token, due_patient, staff):
    page = _client(staff["analyst_a"]).get(reverse("web:patient", kwargs={"pk": due_patient.pk})).content.decode()
    assert 'id="invitations"' in page and "grace@example.org" not in page and "Grace" not in page


def test_coordinator_cannot_see_other_sites_invitations(token, due_patient, staff):
    assert _client(staff["coordinator_b"]).get(reverse("web:patient", kwargs={"pk": due_patient.pk})).status_code == 404


def test_coordinator_sees_an_opted_out_patient(token, due_patient, staff):
    Client().post(reverse("web:respond_stop", kwargs={"token": token}))
    page = _client(staff["coordinator_a"]).get(reverse("web:patient", kwargs={"pk": due_patient.pk})).content.decode()
    assert 'id="opted-out"' in page and "Opted out" in page


def test_worklist_marks_who_has_an_open_invitation(token, due_patient, site, staff):
    treated_patient(site, "VP-300", days_ago=20)  # no consent: staff must call
    page = _client(staff["coordinator_a"]).get(reverse("web:worklist")).content.decode()
    rows = {row.split("</tr>")[0] for row in page.split("<tr")[1:]}
    invited = [row for row in rows if "VP-100" in row and "1 month" in row]
    uninvited = [row for row in rows if "VP-300" in row or "1 week" in row]  # not asked; or its window closed
    assert invited and all("patient invited" in row for row in invited)
    assert uninvited and all("patient invited" not in row for row in uninvited)


def test_dashboard_counts_capture_by_channel(smtp, site, staff):
    from datetime import timedelta

    from django.utils import timezone

    from vertebro.registry.services.clinical import pain_assessment_record

    # Two procedures whose 1-week window closed: one answered by the patient, one entered by staff.
    first = treated_patient(site, "VP-400", days_ago=12, email="a@example.org")
    second = treated_patient(site, "VP-401", days_ago=12)
    invitations_run(senders={"email": EmailSender()})
    Client().post(url(token_in(smtp.bodies_to("a@example.org")[0])), {"score": "2", "recurrent_pain": "no"})
    pain_assessment_record(procedure=second.procedures.get(), assessed_on=timezone.localdate(), score=5, timepoint="1w")
    cache.clear()
    data = _client(staff["coordinator_a"]).get(reverse("web:dashboard"), HTTP_HOST="testserver")
    later = timezone.localdate() + timedelta(days=3)  # the windows close on day 14
    from vertebro.registry.selectors.dashboard import dashboard_for_sites

    week = next(c for c in dashboard_for_sites(site_ids=[site.pk], today=later).capture if c.timepoint.code == "1w")
    assert (week.eligible, week.captured, week.by_patient, week.by_staff) == (2, 2, 1, 1)
    assert data.status_code == 200 and "By the patient" in data.content.decode()
    assert first.invitations.get(timepoint="1w").state == "answered"


def test_the_history_names_the_patient_through_the_invitation(token, due_patient, staff):
    Client().post(url(token), {"score": "3", "recurrent_pain": "no"})
    invitation = Invitation.objects.get()
    page = _client(staff["coordinator_a"]).get(reverse("web:patient_history", kwargs={"pk": due_patient.pk})).content.decode()
    assert f"the patient (through invitation {invitation.pk})" in page
