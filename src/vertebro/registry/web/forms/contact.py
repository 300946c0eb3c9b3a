"""The staff form for a patient's contact consent and addresses (issue 9)."""

from __future__ import annotations

from django import forms

from .base import VersionedForm, date_field


class ContactForm(VersionedForm):
    consent = forms.TypedChoiceField(
        label="Has the patient agreed to be contacted for follow-up?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the patient agreed to be contacted."},
    )
    consent_on = date_field("Date of consent", required=False, help_text="The day the patient agreed.")
    email = forms.EmailField(label="Email", max_length=254, required=False, help_text="Protected.",
                             error_messages={"invalid": "Enter an email address such as name@example.org."})
    mobile = forms.CharField(label="Mobile number", max_length=16, required=False,
                             help_text="Protected. International form, e.g. +441632960123.")
    opted_out = forms.BooleanField(label="The patient asked to get no more messages (opt-out)", required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("consent") and not data.get("consent_on") and "consent_on" not in self.errors:
            self.add_error("consent_on", "Enter the day the patient agreed to be contacted.")
        if data.get("consent") and not (data.get("email") or data.get("mobile")) and "email" not in self.errors:
            self.add_error("email", "Enter an email address or a mobile number: invitations need one.")
        return data
