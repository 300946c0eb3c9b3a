"""Invitations are created when a window opens, sent through a real SMTP server, reminded at the
configured offsets only while the score is missing, and answered as the patient's own score."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from vertebro.domain.errors import DomainError
from vertebro.domain.invitations import token_hash
from vertebro.registry.models import FollowUp, Invitation, InvitationMessage, PainAssessment
from vertebro.registry.services.clinical import pain_assessment_record
from vertebro.registry.services.invitations import (
    LinkNotUsable,
    invitation_answer,
    invitation_opt_out,
    invitations_run,
)
from vertebro.registry.services.senders import EmailSender, FileSmsSender

from .conftest import treated_patient

LINK = re.compile(r"http://testserver/r/([A-Za-z0-9_-]{43})(?!/)")


def run(now=None, **kwargs):  # noqa: ANN001, ANN201
    return invitations_run(senders={"email": EmailSender()}, now=now, **kwargs)


def token_in(body: str) -> str:
    return LINK.search(body).group(1)


def test_an_invitation_goes_to_a_consented_patient_whose_window_opened(smtp, due_patient):
    counts = run()
    assert (counts.created, counts.sent) == (1, 1)
    invitation = Invitation.objects.get()
    assert (invitation.timepoint, invitation.state, invitation.patient_id) == ("1m", "sent", due_patient.pk)
    [body] = smtp.bodies_to("grace@example.org")
    assert body.startswith("Hello Grace,")
    for identifier in ("Hopper", "Brewster", "VP-100", "MRN-VP-100", "1944"):
        assert identifier not in body
    token = token_in(body)
    assert f"http://testserver/r/{token}/stop" in body  # the opt-out link
    message = InvitationMessage.objects.get()
    assert message.token_hash == token_hash(token) and token not in message.token_hash  # only the hash is kept
    assert (message.status, message.kind, message.channel) == ("sent", "invitation", "email")


def test_a_second_run_sends_nothing_more(smtp, due_patient):
    run()
    counts = run()
    assert (counts.created, counts.sent, counts.reminders) == (0, 0, 0)
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("kind", ["no_consent", "no_address", "opted_out", "withdrawn", "window_not_open"])
def test_nobody_who_may_not_be_contacted_gets_an_invitation(smtp, site, kind):
    if kind == "no_consent":
        treated_patient(site, "VP-1", days_ago=20, email="a@example.org", consent=False)
    elif kind == "no_address":
        treated_patient(site, "VP-1", days_ago=20)
    elif kind == "window_not_open":
        treated_patient(site, "VP-1", days_ago=1, email="a@example.org")  # post window: staff take it in hospital
    else:
        patient = treated_patient(site, "VP-1", days_ago=20, email="a@example.org")
        field = {"opted_out": "contact_opted_out_at", "withdrawn": "withdrawn_on"}[kind]
        type(patient).objects.filter(pk=patient.pk).update(**{field: timezone.now() if kind == "opted_out" else timezone.localdate()})
    counts = run()
    assert counts.created == 0 and not smtp.messages and not Invitation.objects.exists()


def test_reminders_go_at_three_and_seven_days_then_stop(smtp, due_patient):
    start = timezone.now()
    run(now=start)
    assert run(now=start + timedelta(days=2)).reminders == 0
    assert run(now=start + timedelta(days=3, minutes=1)).reminders == 1
    assert run(now=start + timedelta(days=5)).reminders == 0
    assert run(now=start + timedelta(days=7, minutes=1)).reminders == 1
    assert run(now=start + timedelta(days=20)).reminders == 0
    assert len(smtp.bodies_to("grace@example.org")) == 3
    invitation = Invitation.objects.get()
    assert (invitation.state, invitation.reminders_sent, invitation.next_send_at) == ("reminded", 2, None)
    assert "Reminder" in smtp.messages[1][1]["Subject"]


def test_no_reminder_after_the_patient_answered(smtp, due_patient):
    start = timezone.now()
    run(now=start)
    invitation_answer(token=token_in(smtp.bodies_to("grace@example.org")[0]), score=3, recurrent_pain=False)
    assert run(now=start + timedelta(days=3, minutes=1)).reminders == 0
    assert run(now=start + timedelta(days=7, minutes=1)).reminders == 0
    assert len(smtp.messages) == 1


def test_no_reminder_after_staff_entered_the_score(smtp, due_patient):
    start = timezone.now()
    run(now=start)
    procedure = due_patient.procedures.get()
    pain_assessment_record(procedure=procedure, assessed_on=timezone.localdate(), score=4, timepoint="1m")
    counts = run(now=start + timedelta(days=3, minutes=1))
    assert counts.reminders == 0 and counts.answered == 1
    assert len(smtp.messages) == 1 and Invitation.objects.get().state == "answered"


def test_no_reminder_after_opting_out_and_the_coordinator_sees_it(smtp, due_patient):
    start = timezone.now()
    run(now=start)
    invitation_opt_out(token=token_in(smtp.bodies_to("grace@example.org")[0]))
    assert run(now=start + timedelta(days=3, minutes=1)).reminders == 0
    due_patient.refresh_from_db()
    assert due_patient.contact_opted_out_at is not None and Invitation.objects.get().state == "opted_out"
    assert "opted out" in due_patient.history.latest().history_change_reason


def test_no_reminder_once_the_window_closed(smtp, site):
    treated_patient(site, "VP-2", days_ago=58, email="late@example.org")  # the 1m window closes on day 60
    start = timezone.now()
    run(now=start)
    counts = run(now=start + timedelta(days=3, minutes=1))
    assert counts.reminders == 0 and counts.expired == 1
    assert Invitation.objects.get(timepoint="1m").state == "expired"
    assert Invitation.objects.get(timepoint="3m").state == "sent"  # day 61: the next window opened
    assert len(smtp.messages) == 2


def test_a_reminder_queued_before_the_answer_is_cancelled_not_sent(smtp, due_patient, monkeypatch):
    """The last check runs just before the hand-over to the server: an answer in between wins."""
    from vertebro.registry.services import invitations as service

    start = timezone.now()
    run(now=start)
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    real_send_one = service._send_one

    def answer_first(item, sender, **kwargs):  # noqa: ANN001, ANN202
        invitation_answer(token=token, score=2, recurrent_pain=False)
        return real_send_one(item, sender, **kwargs)

    monkeypatch.setattr(service, "_send_one", answer_first)
    counts = run(now=start + timedelta(days=3, minutes=1))
    assert counts.reminders == 0 and counts.cancelled == 1
    assert len(smtp.messages) == 1
    assert InvitationMessage.objects.filter(status="cancelled").count() == 1


def test_the_answer_is_the_patients_own_score_with_its_history(smtp, due_patient):
    run()
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    invitation = invitation_answer(token=token, score="3", recurrent_pain=True)
    score = PainAssessment.objects.get()
    assert (score.score, score.timepoint, score.source, score.patient_id) == (3.0, "1m", "patient", due_patient.pk)
    assert FollowUp.objects.get().recurrent_pain is True
    assert invitation.state == "answered" and invitation.assessment == score
    entry = score.history.get()
    assert entry.history_user is None and entry.history_change_reason == f"answered by the patient through invitation {invitation.pk}"


def test_a_used_link_cannot_answer_again(smtp, due_patient):
    run()
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    invitation_answer(token=token, score=3, recurrent_pain=False)
    with pytest.raises(LinkNotUsable):
        invitation_answer(token=token, score=9, recurrent_pain=False)
    assert list(PainAssessment.objects.values_list("score", flat=True)) == [3.0]


@pytest.mark.parametrize("score", [11, -1, "ten", "", 5.5e9])
def test_a_score_outside_0_to_10_is_refused_and_nothing_is_written(smtp, due_patient, score):
    run()
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    with pytest.raises((DomainError, ValidationError)) as refused:
        invitation_answer(token=token, score=score, recurrent_pain=False)
    assert "0" in str(refused.value) and "10" in str(refused.value)
    assert not PainAssessment.objects.exists() and not FollowUp.objects.exists()
    assert Invitation.objects.get().state == "sent"  # the link still works for a proper answer


def test_unknown_and_guessed_tokens_do_not_work(smtp, due_patient):
    run()
    for token in ("", "x" * 43, token_hash("nope"), "../admin", "a" * 500):
        with pytest.raises(LinkNotUsable):
            invitation_answer(token=token, score=3, recurrent_pain=False)


def test_a_link_of_a_withdrawn_patient_no_longer_works(smtp, due_patient):
    run()
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    type(due_patient).objects.filter(pk=due_patient.pk).update(withdrawn_on=timezone.localdate())
    with pytest.raises(LinkNotUsable):
        invitation_answer(token=token, score=3, recurrent_pain=False)


def test_a_link_past_its_window_no_longer_works(smtp, due_patient):
    run()
    token = token_in(smtp.bodies_to("grace@example.org")[0])
    with pytest.raises(LinkNotUsable):
        invitation_answer(token=token, score=3, recurrent_pain=False, today=timezone.localdate() + timedelta(days=41))


def test_a_refused_address_is_recorded_as_a_bounce_and_the_invitation_failed(smtp, due_patient):
    smtp.refuse.add("grace@example.org")
    counts = run()
    assert counts.bounced == 1 and counts.sent == 0
    message = InvitationMessage.objects.get()
    assert message.status == "bounced" and "550" in message.detail and "grace@" not in message.detail
    assert Invitation.objects.get().state == "failed"


def test_a_mail_server_that_is_down_is_retried_later_and_recorded(settings, due_patient):
    from .conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    counts = run()
    assert counts.failed == 1
    invitation = Invitation.objects.get()
    assert invitation.state == "scheduled" and invitation.next_send_at > timezone.now()
    assert InvitationMessage.objects.get().status == "failed"


def test_sms_goes_through_the_file_sender_with_the_first_name_only(smtp, site, tmp_path):
    treated_patient(site, "VP-3", days_ago=20, mobile="+441632960123")
    counts = invitations_run(senders={"email": EmailSender(), "sms": FileSmsSender(tmp_path)})
    assert counts.by_channel == {"sms": 1}
    [sms] = list(tmp_path.iterdir())
    text = sms.read_text()
    assert "To: +441632960123" in text and "Hello Grace," in text and "Hopper" not in text
    assert LINK.search(text)


def test_dry_run_writes_and_sends_nothing(smtp, due_patient):
    counts = run(dry_run=True)
    assert counts.created == 1
    assert not Invitation.objects.exists() and not smtp.messages
