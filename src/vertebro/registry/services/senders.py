"""How invitation messages leave the registry: email through Django's mail backend, SMS through a
pluggable sender.

The interface is :class:`MessageSender`: ``send(address=..., subject=..., body=...)`` returns when the
server accepted the message and raises :class:`SendRefused` (this address will never work: a bounce)
or :class:`SendFailed` (try again later: server down, timeout) otherwise.

- :class:`EmailSender`: Django's email backend, configured from the environment (settings.py:
  ``VERTEBRO_EMAIL_HOST``, ``_PORT``, ``_USE_TLS``, ``_USER``, ``_PASSWORD``, ``VERTEBRO_EMAIL_FROM``;
  ``VERTEBRO_EMAIL_BACKEND=file`` writes each message to ``var/mail/`` for development).
- :class:`HttpSmsSender`: the documented HTTP interface an SMS gateway (or a small adapter in front of
  one) implements: ``POST VERTEBRO_SMS_URL`` with JSON ``{"to": "+441632960123", "text": "..."}`` and
  ``Authorization: Bearer VERTEBRO_SMS_TOKEN``; any 2xx is accepted, 4xx refused (bounce), anything
  else a failure to retry.
- :class:`FileSmsSender`: writes each SMS to ``var/sms/`` (development, the demo, tests).
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from ...errors import VertebroError


class SendRefused(VertebroError):
    """The server refused this address for good (an immediate bounce)."""


class SendFailed(VertebroError):
    """The message did not go now; a later run may try again."""


class MessageSender(Protocol):
    channel: str

    def send(self, *, address: str, subject: str, body: str) -> None: ...


class EmailSender:
    channel = "email"

    def __init__(self, *, backend: str | None = None, **backend_options: object) -> None:
        """``backend`` (a Django email backend path) and its options override the configured one, as
        the demo does to write into ``var/mail/`` whatever the environment says."""
        self._connection = None
        self._backend, self._backend_options = backend, backend_options

    def send(self, *, address: str, subject: str, body: str) -> None:
        if self._connection is None:
            self._connection = get_connection(self._backend, **self._backend_options)
        message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address], connection=self._connection)
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as error:
            raise SendRefused(f"the mail server refused the address: {_codes(error.recipients)}") from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise SendFailed(f"the mail server did not take the message ({type(error).__name__}: {str(error)[:200]})") from error

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except (smtplib.SMTPException, OSError):
                pass
            self._connection = None


def _codes(recipients: dict) -> str:
    # The server's codes and texts, never the address (the detail is stored).
    return "; ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}" for code, text in recipients.values())[:300]


class HttpSmsSender:
    channel = "sms"

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, *, address: str, subject: str, body: str) -> None:  # noqa: ARG002 - an SMS has no subject
        request = urllib.request.Request(
            self.url, data=json.dumps({"to": address, "text": body}).encode(), method="POST",
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {self.token}"} if self.token else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the configured gateway
                response.read()
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500:
                raise SendRefused(f"the SMS gateway refused the message: HTTP {error.code}") from error
            raise SendFailed(f"the SMS gateway answered HTTP {error.code}") from error
        except (urllib.error.URLError, OSError) as error:
            raise SendFailed(f"the SMS gateway could not be reached ({type(error).__name__})") from error

    def close(self) -> None:
        pass


class FileSmsSender:
    channel = "sms"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, *, address: str, subject: str, body: str) -> None:  # noqa: ARG002
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{uuid.uuid4().hex}.txt").write_text(f"To: {address}\n\n{body}\n", encoding="utf-8")

    def close(self) -> None:
        pass


def configured_senders() -> dict[str, MessageSender]:
    """The senders the environment configures: email always (the backend decides where it goes), SMS
    through ``VERTEBRO_SMS_URL`` when set, else into ``var/sms/`` files when ``VERTEBRO_SMS=file``."""
    senders: dict[str, MessageSender] = {"email": EmailSender()}
    if os.environ.get("VERTEBRO_SMS_URL"):
        senders["sms"] = HttpSmsSender(os.environ["VERTEBRO_SMS_URL"], os.environ.get("VERTEBRO_SMS_TOKEN", ""))
    elif os.environ.get("VERTEBRO_SMS", "").lower() == "file":
        senders["sms"] = FileSmsSender(Path(settings.VERTEBRO_HOME) / "var" / "sms")
    return senders
