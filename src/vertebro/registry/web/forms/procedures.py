"""Forms for a procedure (levels with cement, approach, biopsy) and its complications."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from ....domain import rules
from ....domain.vocabulary import APPROACH, BIOPSY_RESULT, COMPLICATION, LEAK_ROUTE, PROCEDURE_KIND
from ...models import Fracture
from .base import VersionedForm, checked, choice_field, date_field, number_field, plausible_date, yes_no_field


class ProcedureForm(forms.Form):
    """A procedure on the patient's recorded fractures: tick each treated level and give its cement."""

    performed_on = date_field("Procedure date")
    kind = choice_field("Procedure", PROCEDURE_KIND.choices(), radio=True)
    approach = choice_field("Approach", APPROACH.choices())
    operator = forms.CharField(label="Operator", max_length=100, required=False)
    biopsy_taken = yes_no_field("Biopsy taken")
    biopsy_result = choice_field("Biopsy result", BIOPSY_RESULT.choices(), required=False, help_text="Only when a biopsy was taken.")
    # Holds the errors about the levels as a whole (rendered beside the levels table).
    levels = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, fractures: Sequence[Fracture], **kwargs):
        super().__init__(*args, **kwargs)
        self.fractures = list(fractures)
        for fracture in self.fractures:
            self.fields[f"treat_{fracture.pk}"] = forms.BooleanField(label=f"Treated {fracture.level or 'level not recorded'}", required=False)
            self.fields[f"cement_{fracture.pk}"] = number_field("Cement (ml)", what="the cement volume in ml")
        self.fields["kind"].initial = "vertebroplasty"
        self.fields["approach"].initial = "bipedicular"
        self.fields["biopsy_taken"].initial = "no"

    def level_rows(self) -> list[tuple[Fracture, forms.BoundField, forms.BoundField]]:
        return [(f, self[f"treat_{f.pk}"], self[f"cement_{f.pk}"]) for f in self.fractures]

    def clean_performed_on(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("performed_on"), "performed_on")

    def clean(self) -> dict:
        data = super().clean()
        treated = []
        for fracture in self.fractures:
            ticked = data.get(f"treat_{fracture.pk}")
            cement = data.get(f"cement_{fracture.pk}")
            if cement is not None:
                if not ticked:
                    self.add_error(f"cement_{fracture.pk}", "Tick this level as treated, or clear its cement volume.")
                    continue
                cement = checked(lambda c=cement: rules.parse_cement_ml(c), self, f"cement_{fracture.pk}")
            if ticked:
                treated.append((fracture, cement))
        if not self.fractures:
            self.add_error("levels", "Record the fracture first: a procedure treats recorded fractures.")
        elif not treated and not any(self.has_error(f"cement_{f.pk}") for f in self.fractures):
            self.add_error("levels", "Tick at least one treated level.")
        data["treated"] = treated
        if data.get("biopsy_result") and data.get("biopsy_taken") is False:
            self.add_error("biopsy_result", "A biopsy result needs a biopsy: answer “Biopsy taken” yes, or clear the result.")
        return data


class ProcedureEditForm(VersionedForm, ProcedureForm):
    pass


class ComplicationForm(forms.Form):
    kind = choice_field("Complication", COMPLICATION.choices())
    leak_route = choice_field("Leak route", LEAK_ROUTE.choices(), required=False, help_text="Cement leakage only.")
    symptomatic = forms.BooleanField(label="Symptomatic", required=False)
    noted_on = date_field("Date noted", required=False)
    notes = forms.CharField(label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_noted_on(self):  # noqa: ANN201
        return plausible_date(self.cleaned_data.get("noted_on"), "noted_on")

    def clean(self) -> dict:
        data = super().clean()
        kind, route = data.get("kind"), data.get("leak_route")
        if kind == "cement_leak" and not route:
            self.add_error("leak_route", "Say where the cement leaked (the route).")
        elif kind and kind != "cement_leak" and route:
            self.add_error("leak_route", "Only a cement leak has a route: clear the route, or choose cement leakage.")
        return data


class ComplicationEditForm(VersionedForm, ComplicationForm):
    pass


class ComplicationRowForm(ComplicationForm):
    """One optional row of the procedure form: a row left blank records nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"] = choice_field("Complication", COMPLICATION.choices(), required=False, blank="None")

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("kind") and (data.get("leak_route") or data.get("notes") or data.get("noted_on") or data.get("symptomatic")):
            self.add_error("kind", "Choose the complication, or clear this row.")
        return data


ComplicationFormSet = forms.formset_factory(ComplicationRowForm, extra=2, max_num=10)


#: The procedure's own fields in the forms (the treated levels and complications are apart).
PROCEDURE_FIELDS = ("performed_on", "kind", "approach", "operator", "biopsy_taken", "biopsy_result")


def procedure_values(cleaned: dict) -> dict:
    """The procedure fields of a valid form's ``cleaned_data`` as the services take them."""
    values = {name: cleaned.get(name) for name in PROCEDURE_FIELDS}
    values["biopsy_result"] = values["biopsy_result"] or None
    values["operator"] = values["operator"] or ""
    return values
