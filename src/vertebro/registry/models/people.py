"""Sites, staff memberships and patients."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ...domain.identifiers import SYSTEM_MAX, parse_mrn_system
from ...domain.errors import DomainError
from ...domain.privacy import IDENTIFIERS
from ...domain.rules import AGE_MAX, AGE_MIN
from ...domain.sites import SITE_CODE_MAX, SITE_CODE_PATTERN, SITE_CODE_RULE
from ...domain.vocabulary import SEX, Vocabulary
from .base import RegistryRecord, check, in_vocabulary

ROLE = Vocabulary(
    "role",
    (
        ("admin", "Administrator"),
        ("investigator", "Investigator"),
        ("coordinator", "Coordinator"),
        ("analyst", "Analyst"),
    ),
)


class Site(models.Model):
    """A participating centre; like a REDCap data access group, it bounds what a user sees."""

    code = models.CharField(
        max_length=SITE_CODE_MAX,
        unique=True,
        validators=[RegexValidator(SITE_CODE_PATTERN, SITE_CODE_RULE)],
        help_text="1 to 32 letters and digits, with - _ or . between them (e.g. SITE-A).",
    )
    name = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


def _valid_mrn_system(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        parse_mrn_system(value, field="system")
    except DomainError as exc:
        raise ValidationError(exc.rule) from None


class SiteMrnSystem(models.Model):
    """An identifier system a site's MRNs are issued under (``domain.identifiers``); a site may have
    several, in order: FHIR export writes the first, FHIR import recognises all of them."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="mrn_systems")
    position = models.PositiveSmallIntegerField(help_text="1 for the system exports write; import reads all.")
    system = models.CharField(max_length=SYSTEM_MAX, validators=[_valid_mrn_system], help_text="Absolute URI, e.g. http://hospital.example.org.")
    history = HistoricalRecords()  # which systems identified a site's patients, and when, is part of the audit trail

    class Meta:
        ordering = ["site", "position"]
        constraints = [
            models.UniqueConstraint(fields=["site", "position"], name="site_mrn_system_one_per_position"),
            models.UniqueConstraint(fields=["site", "system"], name="site_mrn_system_once_per_site"),
            check("site_mrn_system_position_from_1", Q(position__gte=1), "positions start at 1"),
            check("site_mrn_system_not_blank", ~Q(system=""), "an MRN system cannot be blank"),
        ]

    def __str__(self) -> str:
        return f"{self.site.code} #{self.position}: {self.system}"


class StaffMembership(models.Model):
    """A user's role at one site. A user sees only the sites they belong to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=ROLE.choices())
    history = HistoricalRecords()  # who could see which site, and when, is part of the audit trail

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_one_role_per_site"),
            check("membership_role_known", in_vocabulary("role", ROLE), "unknown role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} at {self.site}"


class Patient(RegistryRecord):
    """A registry patient.

    ``mrn``, ``name`` and ``birth_date`` are protected health information (HIPAA Safe Harbor): they are
    listed in :attr:`PROTECTED_FIELDS`, never shown to analysts, never put in URLs, logs or
    de-identified exports. When a source gives only the age at the index procedure,
    ``age_at_index`` holds it instead of a date of birth.
    """

    PROTECTED_FIELDS = IDENTIFIERS["patient"]

    study_id = models.CharField(max_length=64, unique=True)
    # Indexed by (site, study_id) below, which also serves lookups by site alone.
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients", db_index=False)
    sex = models.CharField(max_length=1, choices=SEX.choices())
    birth_date = models.DateField(null=True, blank=True, help_text="Protected (PHI): date of birth.")
    age_at_index = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Age in whole years at the index procedure, when no date of birth is known."
    )
    mrn = models.CharField(max_length=64, null=True, blank=True, help_text="Protected (PHI): medical record number.")
    name = models.CharField(max_length=200, null=True, blank=True, help_text="Protected (PHI): patient name.")
    # Contact for patient-reported follow-up (issue 9). Identifiers: hidden from analysts, never exported
    # de-identified; only the invitation sender reads them.
    email = models.EmailField(max_length=254, null=True, blank=True, help_text="Protected (PHI): email address for survey invitations.")
    mobile = models.CharField(
        max_length=20, null=True, blank=True,
        validators=[RegexValidator(r"^\+[1-9][0-9]{6,14}$", "a mobile number is written in international form, e.g. +441632960123")],
        help_text="Protected (PHI): mobile number (international form, +CC...) for survey invitations.",
    )
    contact_consent_on = models.DateField(null=True, blank=True, help_text="When the patient agreed to be contacted for follow-up.")
    contact_consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Who recorded the contact consent.",
    )
    contact_opted_out_at = models.DateTimeField(null=True, blank=True, help_text="When the patient asked to get no more messages.")
    withdrawn_on = models.DateField(null=True, blank=True, help_text="When the patient withdrew from the registry: nobody contacts them.")

    class Meta:
        ordering = ["study_id"]
        indexes = [models.Index(fields=["site", "study_id"])]
        constraints = [
            check("patient_sex_known", in_vocabulary("sex", SEX), "sex must be F or M"),
            check(
                "patient_age_in_range",
                Q(age_at_index__isnull=True) | Q(age_at_index__gte=AGE_MIN, age_at_index__lte=AGE_MAX),
                f"age must be a whole number of years from {AGE_MIN} to {AGE_MAX}",
            ),
            check(
                "patient_birth_date_or_age",
                Q(birth_date__isnull=False) | Q(age_at_index__isnull=False),
                "a patient needs a date of birth or the age at the index procedure",
            ),
            check("patient_study_id_not_blank", ~Q(study_id=""), "a patient needs a study id"),
            check(
                "patient_consent_has_date_and_recorder",
                Q(contact_consent_on__isnull=True, contact_consent_by__isnull=True) | Q(contact_consent_on__isnull=False),
                "a contact consent records its date",
            ),
        ]

    def __str__(self) -> str:
        return self.study_id

    @property
    def may_be_contacted(self) -> bool:
        """Consented, not opted out, not withdrawn: the only patients an invitation may reach."""
        return self.contact_consent_on is not None and self.contact_opted_out_at is None and self.withdrawn_on is None

    @property
    def first_name(self) -> str:
        """The one identifier a message may carry; empty when no name is recorded."""
        return (self.name or "").split()[0] if (self.name or "").strip() else ""
