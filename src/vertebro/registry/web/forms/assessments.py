"""Forms for pain scores and follow-up visits. The timepoint of a score follows from its date and the
windows (``domain/timepoints.py``); only on the procedure day does the form ask before or after."""

from __future__ import annotations

from django import forms

from ....domain import rules
from ....domain.errors import DomainError
from ....domain.levels import LEVEL
from ....domain.timepoints import BY_CODE
from ....domain.vocabulary import ANALGESIC, INSTRUMENT, VENUE
from ...models import Procedure
from ...services.clinical import assessment_timepoint
from .base import VersionedForm, choice_field, date_field, number_field, plausible_date, sentence, yes_no_field

PROCEDURE_DAY_CHOICES = [("before", "Before the procedure (baseline)"), ("after", "After the procedure (post)")]


def timepoint_label(code: str) -> str:
    return BY_CODE[code].label if code in BY_CODE else "Unscheduled"


class PainForm(forms.Form):
    """A pain score for one procedure. ``timepoint`` (hidden) is set when the worklist asks for a given one."""

    assessed_on = date_field("Date of the score")
    score = number_field("Pain score", required=True, what="the pain score")
    instrument = choice_field("Scale", INSTRUMENT.choices())
    venue = choice_field("Where it was taken", VENUE.choices(), required=False, blank="Not recorded")
    procedure_day = forms.ChoiceField(
        label="On the procedure day, was it taken",
        choices=PROCEDURE_DAY_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        help_text="Only asked when the score was taken on the day of the procedure.",
    )
    timepoint = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, procedure: Procedure, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure
        self.fields["instrument"].initial = "vps"

    def clean_assessed_on(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("assessed_on"), "assessed_on")

    def clean_timepoint(self) -> str | None:
        code = self.cleaned_data.get("timepoint") or None
        if code is not None and code not in BY_CODE:
            raise forms.ValidationError("Unknown timepoint.")
        return code

    def clean(self) -> dict:
        data = super().clean()
        score, instrument = data.get("score"), data.get("instrument")
        if score is not None and instrument:
            scale = 100 if instrument == "vas100" else 10
            try:
                data["score"] = rules.parse_score(score, field="score", scale=scale)
            except DomainError:
                self.add_error("score", f"Enter the pain score as a number from 0 to {scale}.")
        assessed_on = data.get("assessed_on")
        if assessed_on is not None:
            data["derived_timepoint"] = self._timepoint(assessed_on, data.get("timepoint"), data.get("procedure_day"))
        return data

    def _timepoint(self, assessed_on, asked: str | None, procedure_day: str | None) -> str | None:  # noqa: ANN001
        performed_on = self.procedure.performed_on
        days = (assessed_on - performed_on).days
        if days == 0 and not asked and not procedure_day:
            self.add_error("procedure_day", "This score is from the procedure day: say whether it was taken before or after the procedure.")
            return None
        if procedure_day == "before" and days > 0:
            self.add_error(
                "assessed_on",
                f"A baseline score is taken on or before the procedure ({performed_on}); this date is {days} day{'s' if days != 1 else ''} "
                "after it. Correct the date, or choose “after the procedure”.",
            )
            return None
        if procedure_day == "after" and days < 0:
            self.add_error(
                "assessed_on",
                f"A score taken after the procedure cannot be dated before it ({performed_on}). Correct the date, or choose “before the procedure”.",
            )
            return None
        after = None if days != 0 or not procedure_day else procedure_day == "after"
        try:
            return assessment_timepoint(procedure=self.procedure, assessed_on=assessed_on, timepoint=asked, after_procedure=after)
        except DomainError as error:
            if asked and error.field == "timepoint":
                window = BY_CODE[asked]
                self.add_error(
                    "assessed_on",
                    f"The {window.label.lower()} window for this procedure runs from {window.opens_on(performed_on)} "
                    f"to {window.closes_on(performed_on)}; this date lies outside it. Enter the date the score was taken.",
                )
            else:
                self.add_error("assessed_on", sentence(error.rule))
            return None


class PainEditForm(VersionedForm, PainForm):
    pass


class FollowUpForm(forms.Form):
    seen_on = date_field("Date of the visit or call")
    venue = choice_field("Where", VENUE.choices(), required_message="Choose where the follow-up took place.")
    recurrent_pain = yes_no_field("Recurrent back pain")
    new_fracture_level = choice_field("New fracture", LEVEL.choices(), required=False, blank="No new fracture", help_text="The level of a new vertebral fracture, if any.")
    further_procedure = yes_no_field("Further procedure since")
    analgesics = choice_field("Analgesics", ANALGESIC.choices(), required=False, blank="Not recorded")

    def __init__(self, *args, procedure: Procedure, **kwargs):
        super().__init__(*args, **kwargs)
        self.procedure = procedure

    def clean_seen_on(self):  # noqa: ANN201
        seen_on = plausible_date(self.cleaned_data.get("seen_on"), "seen_on")
        if seen_on is not None and seen_on < self.procedure.performed_on:
            raise forms.ValidationError(f"A follow-up comes after its procedure ({self.procedure.performed_on}).")
        return seen_on


class FollowUpWithScoreForm(FollowUpForm):
    """A new follow-up may carry the pain score taken at the visit (recorded with it, or neither)."""

    score = number_field("Pain score at this visit (0–10)", what="the pain score as a number from 0 to 10", help_text="Optional.")

    def clean(self) -> dict:
        data = super().clean()
        score = data.get("score")
        if score is not None:
            try:
                data["score"] = rules.parse_score(score, field="score")
            except DomainError:
                self.add_error("score", "Enter the pain score as a number from 0 to 10.")
                return data
            seen_on = data.get("seen_on")
            if seen_on is not None:
                days = (seen_on - self.procedure.performed_on).days
                if days == 0:
                    data["score_timepoint"] = "post"  # a follow-up on the procedure day is after it
                else:
                    try:
                        data["score_timepoint"] = assessment_timepoint(procedure=self.procedure, assessed_on=seen_on)
                    except DomainError as error:
                        self.add_error("score", sentence(error.rule))
        return data


class FollowUpEditForm(VersionedForm, FollowUpForm):
    pass
