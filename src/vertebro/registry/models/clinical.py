"""Fractures, procedures, complications, pain assessments, follow-ups and eligibility."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ...domain.eligibility import ABSOLUTE_CONTRAINDICATION
from ...domain.levels import LEVEL
from ...domain.rules import CEMENT_ML_MAX, HEIGHT_LOSS_MAX, SCORE_MAX, SCORE_MIN
from ...domain.timepoints import TIMEPOINT_CODES, UNSCHEDULED
from ...domain.vocabulary import (
    ANALGESIC,
    APPROACH,
    ASSESSMENT_SOURCE,
    BIOPSY_RESULT,
    COMPLICATION,
    ETIOLOGY,
    INSTRUMENT,
    LEAK_ROUTE,
    MISSING_REASON,
    PATHOLOGIC_BASIS,
    PATHOLOGIC_CAUSE,
    PROCEDURE_KIND,
    VENUE,
    Vocabulary,
)
from .base import RegistryRecord, check, in_vocabulary
from .people import Patient
from .voiding import Voidable, void_constraints

TIMEPOINT = Vocabulary("timepoint", tuple((code, code) for code in TIMEPOINT_CODES))


class Fracture(Voidable, RegistryRecord):
    """A vertebral compression fracture at one level."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fractures")
    level = models.CharField(
        max_length=3, choices=LEVEL.choices(), null=True, blank=True, help_text="Empty when the source does not say."
    )
    etiology = models.CharField(max_length=16, choices=ETIOLOGY.choices())
    pathologic_cause = models.CharField(max_length=16, choices=PATHOLOGIC_CAUSE.choices(), null=True, blank=True)
    pathologic_basis = models.CharField(max_length=24, choices=PATHOLOGIC_BASIS.choices(), null=True, blank=True)
    primary_site = models.CharField(max_length=100, blank=True, default="", help_text="Primary tumour, for metastases.")
    onset_date = models.DateField(null=True, blank=True)
    mri_oedema = models.BooleanField(null=True, blank=True, help_text="Bone marrow oedema on MRI (STIR).")
    height_loss_pct = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["patient_id", "id"]
        constraints = [
            check("fracture_level_known", in_vocabulary("level", LEVEL, nullable=True), "a vertebral level is one of C1–C7, T1–T12, L1–L5, S1–S5"),
            check("fracture_etiology_known", in_vocabulary("etiology", ETIOLOGY), "etiology must be osteoporotic, pathologic or traumatic"),
            check("fracture_cause_known", in_vocabulary("pathologic_cause", PATHOLOGIC_CAUSE, nullable=True), "unknown pathologic cause"),
            check("fracture_basis_known", in_vocabulary("pathologic_basis", PATHOLOGIC_BASIS, nullable=True), "unknown pathologic basis"),
            check(
                "fracture_pathologic_has_cause_and_basis",
                ~Q(etiology="pathologic") | Q(pathologic_cause__isnull=False, pathologic_basis__isnull=False),
                "a pathologic fracture needs its cause and basis (imaging and/or biopsy)",
            ),
            check(
                "fracture_only_pathologic_has_cause",
                Q(etiology="pathologic") | Q(pathologic_cause__isnull=True, pathologic_basis__isnull=True),
                "only a pathologic fracture has a cause and basis",
            ),
            check(
                "fracture_height_loss_in_range",
                Q(height_loss_pct__isnull=True) | Q(height_loss_pct__gte=0, height_loss_pct__lte=HEIGHT_LOSS_MAX),
                "height loss must be a percentage from 0 to 100",
            ),
            *void_constraints("fracture"),
        ]

    def __str__(self) -> str:
        return f"{self.level or 'level not recorded'} ({self.etiology})"


class Procedure(Voidable, RegistryRecord):
    """One augmentation session, treating one or more fractured levels."""

    # Indexed by (patient, performed_on) below, which also serves lookups by patient alone.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="procedures", db_index=False)
    performed_on = models.DateField()
    kind = models.CharField(max_length=16, choices=PROCEDURE_KIND.choices(), default="vertebroplasty")
    operator = models.CharField(max_length=100, blank=True, default="")
    approach = models.CharField(max_length=16, choices=APPROACH.choices(), default="bipedicular")
    biopsy_taken = models.BooleanField(default=False)
    biopsy_result = models.CharField(max_length=16, choices=BIOPSY_RESULT.choices(), null=True, blank=True)
    fractures = models.ManyToManyField(Fracture, through="TreatedLevel", related_name="procedures")

    class Meta:
        ordering = ["patient_id", "performed_on", "id"]
        indexes = [
            models.Index(fields=["patient", "performed_on"]),
            # The worklist asks which procedures have a timepoint window open now: a range on the date.
            models.Index(fields=["performed_on"], name="procedure_performed_on_idx"),
        ]
        constraints = [
            check("procedure_kind_known", in_vocabulary("kind", PROCEDURE_KIND), "procedure kind must be vertebroplasty or kyphoplasty"),
            check("procedure_approach_known", in_vocabulary("approach", APPROACH), "unknown approach"),
            check("procedure_biopsy_result_known", in_vocabulary("biopsy_result", BIOPSY_RESULT, nullable=True), "unknown biopsy result"),
            check("procedure_result_needs_biopsy", Q(biopsy_taken=True) | Q(biopsy_result__isnull=True), "a biopsy result needs a biopsy"),
            *void_constraints("procedure"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.performed_on}"


class TreatedLevel(RegistryRecord):
    """A fracture treated in a procedure, with the cement volume injected at that level."""

    # Indexed by the unique (procedure, fracture) constraint below, which also serves lookups by procedure.
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="treated_levels", db_index=False)
    fracture = models.ForeignKey(Fracture, on_delete=models.PROTECT, related_name="treatments")
    cement_ml = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "fracture"], name="treated_level_once_per_procedure"),
            check(
                "treated_level_cement_in_range",
                Q(cement_ml__isnull=True) | Q(cement_ml__gt=0, cement_ml__lte=CEMENT_ML_MAX),
                "cement volume must be more than 0 and at most 20 ml per level",
            ),
        ]


class Complication(RegistryRecord):
    """A complication of a procedure; a cement leak names its route."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="complications")
    kind = models.CharField(max_length=24, choices=COMPLICATION.choices())
    leak_route = models.CharField(max_length=16, choices=LEAK_ROUTE.choices(), null=True, blank=True)
    symptomatic = models.BooleanField(default=False)
    noted_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            check("complication_kind_known", in_vocabulary("kind", COMPLICATION), "unknown complication"),
            check("complication_route_known", in_vocabulary("leak_route", LEAK_ROUTE, nullable=True), "unknown cement leak route"),
            check(
                "complication_leak_has_route",
                Q(kind="cement_leak", leak_route__isnull=False) | (~Q(kind="cement_leak") & Q(leak_route__isnull=True)),
                "a cement leak, and only a cement leak, names its route",
            ),
        ]


class FollowUp(Voidable, RegistryRecord):
    """A follow-up encounter after a procedure."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="follow_ups")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="follow_ups")
    seen_on = models.DateField()
    venue = models.CharField(max_length=32, choices=VENUE.choices())
    recurrent_pain = models.BooleanField(default=False)
    new_fracture = models.BooleanField(default=False)
    new_fracture_level = models.CharField(max_length=3, choices=LEVEL.choices(), null=True, blank=True)
    further_procedure = models.BooleanField(default=False)
    analgesics = models.CharField(max_length=16, choices=ANALGESIC.choices(), null=True, blank=True)

    class Meta:
        ordering = ["patient_id", "seen_on", "id"]
        constraints = [
            check("follow_up_venue_known", in_vocabulary("venue", VENUE), "unknown follow-up venue"),
            check("follow_up_level_known", in_vocabulary("new_fracture_level", LEVEL, nullable=True), "a vertebral level is one of C1–C7, T1–T12, L1–L5, S1–S5"),
            check("follow_up_analgesics_known", in_vocabulary("analgesics", ANALGESIC, nullable=True), "unknown analgesic class"),
            check(
                "follow_up_new_fracture_has_level",
                Q(new_fracture=True, new_fracture_level__isnull=False)
                | Q(new_fracture=False, new_fracture_level__isnull=True),
                "a new fracture, and only a new fracture, records its level",
            ),
            *void_constraints("follow_up"),
        ]


class PainAssessment(Voidable, RegistryRecord):
    """A 0–10 pain score timed against a procedure; the timepoint follows from the windows."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="pain_assessments")
    # Indexed by (procedure, timepoint) below, which also serves lookups by procedure alone.
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="pain_assessments", db_index=False)
    follow_up = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="pain_assessments"
    )
    assessed_on = models.DateField()
    score = models.FloatField()
    instrument = models.CharField(max_length=8, choices=INSTRUMENT.choices(), default="vps")
    timepoint = models.CharField(max_length=12, choices=TIMEPOINT.choices())
    venue = models.CharField(max_length=32, choices=VENUE.choices(), null=True, blank=True)
    source = models.CharField(
        max_length=8, choices=ASSESSMENT_SOURCE.choices(), default="staff",
        help_text="Who put the score in: staff, a file import, FHIR, the API, or the patient through an invitation.",
    )

    class Meta:
        ordering = ["patient_id", "assessed_on", "id"]
        indexes = [models.Index(fields=["procedure", "timepoint"])]
        constraints = [
            check("pain_score_in_range", Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX), "pain score must be a number from 0 to 10"),
            check("pain_timepoint_known", in_vocabulary("timepoint", TIMEPOINT), "unknown timepoint"),
            check("pain_instrument_known", in_vocabulary("instrument", INSTRUMENT), "unknown pain instrument"),
            check("pain_venue_known", in_vocabulary("venue", VENUE, nullable=True), "unknown venue"),
            check("pain_source_known", in_vocabulary("source", ASSESSMENT_SOURCE), "unknown assessment source"),
            models.UniqueConstraint(
                fields=["procedure", "timepoint"],
                # A voided score frees its timepoint for the correct one.
                condition=~Q(timepoint=UNSCHEDULED) & Q(voided_at__isnull=True),
                name="pain_one_score_per_timepoint",
            ),
            *void_constraints("pain"),
        ]


class EligibilityAssessment(RegistryRecord):
    """The intake checklist (DESIGN.md §2). An absolute contraindication blocks the procedure form
    unless an investigator overrides it; the override and its reason are kept here."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="eligibility_assessments")
    assessed_on = models.DateField()
    indications = models.JSONField(default=list, blank=True)
    absolute_contraindications = models.JSONField(default=list, blank=True)
    relative_contraindications = models.JSONField(default=list, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    override_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["patient_id", "-assessed_on", "-id"]
        constraints = [
            check("eligibility_override_has_reason", Q(overridden_by__isnull=True) | ~Q(override_reason=""), "an override needs a reason"),
        ]

    @property
    def blocked(self) -> bool:
        absolute = [code for code in self.absolute_contraindications if code in ABSOLUTE_CONTRAINDICATION]
        return bool(absolute) and self.overridden_by_id is None



class MissingData(RegistryRecord):
    """Why a scheduled pain score of a procedure will not be collected (MISSING_REASON).

    A code closes the timepoint's worklist item and is exported instead of a score (REDCap missing-data
    codes, Stata extended missing values, SPSS user-missing values). One code per procedure and
    timepoint; a new reason replaces the old one through an update, so the history keeps both.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="missing_data")
    # Indexed by the unique (procedure, timepoint) constraint below, which also serves lookups by procedure.
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="missing_data", db_index=False)
    timepoint = models.CharField(max_length=12, choices=TIMEPOINT.choices())
    reason = models.CharField(max_length=16, choices=MISSING_REASON.choices())
    note = models.TextField(blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["patient_id", "procedure_id", "timepoint"]
        verbose_name_plural = "missing data"
        constraints = [
            check("missing_data_timepoint_known", in_vocabulary("timepoint", TIMEPOINT), "unknown timepoint"),
            check("missing_data_not_unscheduled", ~Q(timepoint=UNSCHEDULED), "only a scheduled timepoint can be missing"),
            check("missing_data_reason_known", in_vocabulary("reason", MISSING_REASON), "unknown missing-data reason"),
            models.UniqueConstraint(fields=["procedure", "timepoint"], name="missing_data_once_per_timepoint"),
        ]

    def __str__(self) -> str:
        return f"{self.timepoint}: {MISSING_REASON.label(self.reason)}"
