"""Forms for the patient, their fractures and the eligibility checklist."""

from __future__ import annotations

from django import forms

from ....domain import rules
from ....domain.eligibility import ABSOLUTE_CONTRAINDICATION, INDICATION, RELATIVE_CONTRAINDICATION
from ....domain.levels import LEVEL
from ....domain.vocabulary import ETIOLOGY, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE, SEX
from .base import AsciiIntegerField, VersionedForm, checked, choice_field, date_field, number_field, plausible_date


class PatientForm(forms.Form):
    """New patient. ``sites`` are the sites where the user may create records."""

    study_id = forms.CharField(
        label="Study id",
        max_length=64,
        help_text="The registry's id for this patient (never the MRN or the name).",
        error_messages={"required": "Enter the study id."},
    )
    site = forms.TypedChoiceField(
        label="Site",
        coerce=int,
        error_messages={"required": "Choose the site.", "invalid_choice": "Choose one of the sites where you may record patients."},
    )
    sex = choice_field("Sex", SEX.choices(), radio=True)
    birth_date = date_field("Date of birth", required=False, help_text="Protected. Give this or the age.")
    age_at_index = AsciiIntegerField(
        label="Age at the procedure (years)",
        required=False,
        help_text="Only when the date of birth is unknown.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}),
        error_messages={"invalid": "Enter the age as a whole number of years."},
    )
    mrn = forms.CharField(label="Medical record number (MRN)", max_length=64, required=False, help_text="Protected.")
    name = forms.CharField(label="Name", max_length=200, required=False, help_text="Protected.")

    def __init__(self, *args, sites: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = sites
        if len(sites) == 1:
            self.fields["site"].initial = sites[0][0]

    def clean_study_id(self) -> str:
        value = self.cleaned_data["study_id"].strip()
        if not value:
            raise forms.ValidationError("Enter the study id.")
        return value

    def clean_birth_date(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("birth_date"), "birth_date", earliest=rules.EARLIEST_BIRTH_DATE)

    def clean_age_at_index(self):  # noqa: ANN201
        age = self.cleaned_data.get("age_at_index")
        if age is None:
            return None
        return checked(lambda: rules.parse_age(age, field="age_at_index"), self, "age_at_index")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("birth_date") and data.get("age_at_index") is None and not self.has_error("age_at_index") and not self.has_error("birth_date"):
            self.add_error("birth_date", "Enter the date of birth, or the age at the procedure below.")
        return data


class PatientEditForm(VersionedForm, PatientForm):
    pass


class FractureForm(forms.Form):
    level = choice_field("Level", LEVEL.choices(), required=False, blank="Not recorded")
    etiology = choice_field("Etiology", ETIOLOGY.choices(), radio=True)
    pathologic_cause = choice_field("Pathologic cause", PATHOLOGIC_CAUSE.choices(), required=False, help_text="Pathologic fractures only.")
    pathologic_basis = choice_field(
        "Basis of the diagnosis", PATHOLOGIC_BASIS.choices(), required=False, help_text="Pathologic fractures only: imaging with known malignancy and/or biopsy."
    )
    primary_site = forms.CharField(label="Primary tumour", max_length=100, required=False, help_text="For metastases, e.g. breast.")
    onset_date = date_field("Onset date", required=False)
    mri_oedema = forms.TypedChoiceField(
        label="Oedema on MRI (STIR)",
        choices=[("", "Not known"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
    )
    height_loss_pct = number_field("Height loss (%)", what="a percentage from 0 to 100")
    # Shown only when the patient already has a fracture at the level (fracture_form.html).
    same_level_confirmed = forms.BooleanField(label="This is a second, new fracture at this level", required=False)

    def asks_same_level(self) -> bool:
        return bool(self.is_bound and (self.has_error("level") or self["same_level_confirmed"].value()))

    def clean_onset_date(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("onset_date"), "onset_date")

    def clean_height_loss_pct(self):  # noqa: ANN201
        value = self.cleaned_data.get("height_loss_pct")
        return None if value is None else checked(lambda: rules.parse_height_loss(value), self, "height_loss_pct")

    def clean(self) -> dict:
        data = super().clean()
        etiology = data.get("etiology")
        cause, basis = data.get("pathologic_cause") or None, data.get("pathologic_basis") or None
        if etiology == "pathologic":
            if not cause:
                self.add_error("pathologic_cause", "A pathologic fracture needs its cause; choose “Not recorded” if unknown.")
            if not basis:
                self.add_error("pathologic_basis", "A pathologic fracture needs its basis (imaging and/or biopsy); choose “Not recorded” if unknown.")
        elif etiology:
            label = ETIOLOGY.label(etiology).split(" ")[0].lower()
            if cause:
                self.add_error("pathologic_cause", f"Only a pathologic fracture has a cause; leave it empty for an {label} one.")
            if basis:
                self.add_error("pathologic_basis", f"Only a pathologic fracture has a basis; leave it empty for an {label} one.")
        return data


class FractureEditForm(VersionedForm, FractureForm):
    pass


def _checklist(vocabulary, label: str) -> forms.MultipleChoiceField:  # noqa: ANN001
    return forms.MultipleChoiceField(
        label=label, choices=vocabulary.choices(), required=False, widget=forms.CheckboxSelectMultiple
    )


class EligibilityForm(forms.Form):
    """The intake checklist (SIR/ACR–ASNR–ASSR; Barr 2014)."""

    assessed_on = date_field("Date of the assessment")
    indications = _checklist(INDICATION, "Indications")
    absolute = _checklist(ABSOLUTE_CONTRAINDICATION, "Absolute contraindications")
    relative = _checklist(RELATIVE_CONTRAINDICATION, "Relative contraindications")

    def clean_assessed_on(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("assessed_on"), "assessed_on")


class OverrideForm(VersionedForm):
    reason = forms.CharField(
        label="Reason for going ahead despite the contraindication",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "An override needs a reason: say why the procedure should go ahead."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < 10:
            raise forms.ValidationError("Give the reason in a sentence (at least 10 characters).")
        return reason
