"""A form sent after the session expired is kept as a draft for its author and filled in again after
they log back in; the expiry warning's status request reads the time left without extending it."""

from __future__ import annotations

import logging
import time

from django.test import Client
from django.urls import reverse

from vertebro.registry.models import FormDraft, Patient
from vertebro.registry.web.middleware import LAST_SEEN_KEY, minutes_in_words


def _expire(client: Client, settings) -> None:  # noqa: ANN001
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - settings.VERTEBRO_SESSION_IDLE_SECONDS - 5
    session.save()


def _edit_data(patient: Patient, **changes) -> dict:
    return {"version": patient.version, "study_id": patient.study_id, "site": patient.site_id, "sex": patient.sex,
            "birth_date": patient.birth_date.isoformat(), "mrn": patient.mrn, "name": patient.name} | changes


def test_a_form_sent_after_expiry_is_kept_and_filled_in_again_after_logging_in(world, settings, caplog):
    patient = world.patient_a
    url = reverse("web:patient_edit", kwargs={"pk": patient.pk})
    client = world.client("coordinator_a")
    assert client.get(url).status_code == 200
    _expire(client, settings)
    with caplog.at_level(logging.DEBUG):
        response = client.post(url, _edit_data(patient, name="Ada Typed-Before-Expiry", mrn="MRN-NEW-42"))
    # Logged out and sent to the login page; nothing saved; the typed values are in no URL and no log.
    assert response.status_code == 302 and response["Location"] == f"{reverse('web:login')}?next={url}"
    patient.refresh_from_db()
    assert patient.name != "Ada Typed-Before-Expiry"
    assert "Typed-Before-Expiry" not in caplog.text and "MRN-NEW-42" not in caplog.text
    login_page = client.get(response["Location"]).content.decode()
    assert "What you had entered on the form is kept for you" in login_page
    draft = FormDraft.objects.get()
    assert draft.user == world.users["coordinator_a"] and draft.path == url and "csrfmiddlewaretoken" not in draft.data

    client.force_login(world.users["coordinator_a"])
    page = client.get(url)
    html = page.content.decode()
    assert 'value="Ada Typed-Before-Expiry"' in html and 'value="MRN-NEW-42"' in html
    assert "Your session ended before this form was saved" in html
    assert client.post(url, _edit_data(patient, name="Ada Typed-Before-Expiry", mrn="MRN-NEW-42")).status_code == 302
    patient.refresh_from_db()
    assert patient.name == "Ada Typed-Before-Expiry"
    assert not FormDraft.objects.exists()  # sending the form ends its draft
    assert 'value="Ada Typed-Before-Expiry"' in client.get(url).content.decode()  # now from the record itself


def test_a_draft_is_shown_to_its_author_only(world, settings):
    url = reverse("web:fracture_new", kwargs={"patient_pk": world.patient_a.pk})
    client = world.client("coordinator_a")
    client.get(url)
    _expire(client, settings)
    client.post(url, {"level": "T4", "etiology": "osteoporotic", "primary_site": "draft-only-text"})
    other = world.client("investigator_a")
    assert "draft-only-text" not in other.get(url).content.decode()
    author = world.client("coordinator_a")
    assert "draft-only-text" in author.get(url).content.decode()


def test_a_search_sent_after_expiry_is_not_kept(world, settings):
    client = world.client("coordinator_a")
    client.get(reverse("web:patients"))
    _expire(client, settings)
    client.post(reverse("web:patients"), {"q": "Quimby"})
    assert not FormDraft.objects.exists()


def test_the_status_request_reads_the_time_left_without_extending_it(world, settings):
    client = world.client("coordinator_a")
    client.get(reverse("web:dashboard"))
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 600
    session.save()
    left = client.get(reverse("web:session_status")).json()["seconds_left"]
    assert abs(left - (settings.VERTEBRO_SESSION_IDLE_SECONDS - 600)) <= 2
    assert client.session[LAST_SEEN_KEY] <= int(time.time()) - 599  # not counted as activity
    stayed = client.get(reverse("web:session_status") + "?stay=1").json()["seconds_left"]
    assert abs(stayed - settings.VERTEBRO_SESSION_IDLE_SECONDS) <= 2


def test_the_status_check_of_an_expired_session_ends_nothing_so_the_form_sent_next_is_kept(world, settings):
    client = world.client("coordinator_a")
    url = reverse("web:patient_new")
    client.get(url)
    _expire(client, settings)
    assert client.get(reverse("web:session_status")).json() == {"seconds_left": 0}
    client.post(url, {"study_id": "VPA0990", "site": world.site_a.pk, "sex": "F", "age_at_index": "70"})
    assert FormDraft.objects.get().data["study_id"] == ["VPA0990"]


def test_the_status_of_an_ended_session_is_zero_not_a_login_page(db):
    response = Client().get(reverse("web:session_status"))
    assert response.status_code == 200 and response.json() == {"seconds_left": 0}


def test_pages_carry_the_time_left_for_the_warning_script(world, settings):
    html = world.client("coordinator_a").get(reverse("web:dashboard")).content.decode()
    assert f'data-session-seconds-left="{settings.VERTEBRO_SESSION_IDLE_SECONDS}"' in html
    assert 'id="session-warning"' in html and 'src="/static/web/session.js"' in html


def test_the_logout_message_counts_minutes_in_words(world, settings):
    assert minutes_in_words(60) == "1 minute" and minutes_in_words(1800) == "30 minutes" and minutes_in_words(15) == "15 seconds"
    settings.VERTEBRO_SESSION_IDLE_SECONDS = 60
    client = world.client("coordinator_a")
    client.get(reverse("web:dashboard"))
    _expire(client, settings)
    response = client.get(reverse("web:dashboard"), follow=True)
    page = response.content.decode()
    assert "(1 minute)" in page and "1 minutes" not in page
