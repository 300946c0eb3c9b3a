"""Patients due for a patient-reported score, and a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from vertebro.registry.services.clinical import fracture_create, patient_create, procedure_create, site_create
from vertebro.registry.services.invitations import patient_contact_record


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received: (recipients, parsed message) in order."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"

    def bodies_to(self, address: str) -> list[str]:
        return [m.get_content() for to, m in self.messages if address in to]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback; Django's SMTP backend points at it."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.VERTEBRO_PUBLIC_URL = "http://testserver"
    yield inbox
    controller.stop()


@pytest.fixture
def site(db):
    return site_create(code="SITE-A", name="Site A")


def treated_patient(site, study_id: str, *, days_ago: int, email: str | None = None, mobile: str | None = None,
                    consent: bool = True, name: str = "Grace Brewster Hopper"):  # noqa: ANN001, ANN201
    """A patient treated ``days_ago`` days ago (20: the 1-month window is open), with contact details."""
    today = timezone.localdate()
    patient = patient_create(study_id=study_id, site=site, sex="F", birth_date=date(1944, 3, 2), mrn=f"MRN-{study_id}", name=name)
    fracture = fracture_create(patient=patient, level="L1", etiology="osteoporotic")
    procedure_create(patient=patient, performed_on=today - timedelta(days=days_ago), treated=[(fracture, 4.0)])
    patient.refresh_from_db()
    if email or mobile or consent:
        patient = patient_contact_record(patient=patient, consent_on=today - timedelta(days=days_ago) if consent else None, email=email, mobile=mobile)
    return patient


@pytest.fixture
def due_patient(site):
    return treated_patient(site, "VP-100", days_ago=20, email="grace@example.org")
