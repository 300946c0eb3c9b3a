"""The audit trail, as people read it: who changed what and when, old value → new value.

History rows (django-simple-history) hold each saved state of a record; a change is the difference
between a state and the one before it. Rows are append-only in the database (migration 0002), and
nothing here writes. Records created by an import have no "created" history row — the import batch is
their creation audit — so an entry naming the import stands in for it.

For readers who may not see identifiers (analysts), protected fields (name, MRN, date of birth) are
left out entirely, free text (``domain.privacy.POSSIBLY_IDENTIFYING``: override reasons, complication
notes, primary tumour, operator) and change reasons are replaced by a note that text is hidden, and
every date — clinical dates and the time an entry was saved, which would reveal treatment dates —
reads as days from the index procedure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import re

from django.db import models
from django.utils import timezone

from ...domain.eligibility import ABSOLUTE_CONTRAINDICATION, INDICATION, RELATIVE_CONTRAINDICATION
from ...domain.privacy import FREE_TEXT_HIDDEN, IDENTIFIERS, is_free_text
from ...domain.timepoints import BY_CODE
from ..models import (
    Complication,
    EligibilityAssessment,
    FollowUp,
    Fracture,
    ImportBatch,
    PainAssessment,
    Patient,
    Procedure,
    TreatedLevel,
)

#: URL-safe names of the record kinds with history, and their models.
RECORD_KINDS: dict[str, type[models.Model]] = {
    "patient": Patient,
    "fracture": Fracture,
    "eligibility": EligibilityAssessment,
    "procedure": Procedure,
    "level": TreatedLevel,
    "complication": Complication,
    "follow-up": FollowUp,
    "pain": PainAssessment,
}
KIND_LABELS = {
    "patient": "Patient",
    "fracture": "Fracture",
    "eligibility": "Eligibility checklist",
    "procedure": "Procedure",
    "level": "Treated level",
    "complication": "Complication",
    "follow-up": "Follow-up",
    "pain": "Pain score",
}
#: Bookkeeping, not clinical content, and the patient a record belongs to (it never changes and every
#: history page is a patient's): left out of the changes.
SKIPPED_FIELDS = {"id", "version", "created_at", "updated_at", "import_batch", "patient"}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
#: Field names as coordinators say them (fields not listed read as their name, spaced).
FIELD_LABELS = {
    "study_id": "Study id",
    "mrn": "MRN",
    "birth_date": "Date of birth",
    "age_at_index": "Age at index procedure",
    "pathologic_cause": "Pathologic cause",
    "pathologic_basis": "Pathologic basis",
    "onset_date": "Onset date",
    "mri_oedema": "Oedema on MRI",
    "height_loss_pct": "Height loss (%)",
    "performed_on": "Procedure date",
    "kind": "Kind",
    "biopsy_taken": "Biopsy taken",
    "cement_ml": "Cement (ml)",
    "leak_route": "Leak route",
    "noted_on": "Noted on",
    "seen_on": "Seen on",
    "recurrent_pain": "Recurrent back pain",
    "new_fracture": "New fracture",
    "new_fracture_level": "New fracture level",
    "further_procedure": "Further procedure",
    "assessed_on": "Assessed on",
    "score": "Pain score",
    "follow_up": "Follow-up",
    "indications": "Indications",
    "absolute_contraindications": "Absolute contraindications",
    "relative_contraindications": "Relative contraindications",
    "assessed_by": "Assessed by (user)",
    "overridden_by": "Overridden by (user)",
    "override_reason": "Override reason",
}
_IMPORT_REASON = re.compile(r"^import #\d+")
_CHECKLISTS = {
    "indications": INDICATION,
    "absolute_contraindications": ABSOLUTE_CONTRAINDICATION,
    "relative_contraindications": RELATIVE_CONTRAINDICATION,
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    """One saved state of one record, as a change.

    Attributes
    ----------
    at : datetime
        When it was saved.
    when : str
        ``at`` as the reader may see it: date and time, or days from the index procedure.
    user : str
        Who saved it (a username, or how it happened when no user was logged in).
    action : str
        ``created``, ``changed``, ``deleted`` or ``imported``.
    kind : str
        A key of :data:`RECORD_KINDS`.
    record_id : int
    changes : tuple of FieldChange
        For ``created``, every field given a value (old is empty).
    reason : str
        The change reason, when one was recorded (imports, overrides); for a de-identified reader only
        the import it names, else a note that the text is hidden.
    """

    at: datetime
    when: str
    user: str
    action: str
    kind: str
    record_id: int
    changes: tuple[FieldChange, ...]
    reason: str = ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class ValueDisplay:
    """How values read for one reader: identified, or de-identified relative to ``index_on``."""

    deidentify: bool
    index_on: date | None = None

    def hides(self, model: type[models.Model], field_name: str) -> bool:
        """An identifier, left out of the reader's history altogether."""
        return self.deidentify and field_name in IDENTIFIERS.get(model._meta.model_name, ())

    def masks(self, model: type[models.Model], field_name: str) -> bool:
        """Free text: the reader sees that it changed, never what it says."""
        return self.deidentify and is_free_text(model._meta.model_name, field_name)

    def date(self, value: date) -> str:
        if not self.deidentify:
            return value.isoformat()
        if self.index_on is None:
            return "(date hidden)"
        days = (value - self.index_on).days
        return f"day {days:+d}" if days else "day 0"

    def moment(self, value: datetime) -> str:
        """When an entry was saved: local date and time, or its day relative to the index procedure."""
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return self.date(local.date()) if self.deidentify else local.strftime("%Y-%m-%d %H:%M")

    def reason(self, text: str) -> str:
        """A change reason is typed text (or carries old and new values): a de-identified reader sees
        only the import it names."""
        if not self.deidentify or not text:
            return text
        named = _IMPORT_REASON.match(text)
        return named.group(0) if named else FREE_TEXT_HIDDEN


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in SKIPPED_FIELDS]


def _display(field: models.Field, value: object, display: ValueDisplay, labels: dict | None = None) -> str:
    if value is None or value == "":
        return "—"
    if field.name == "timepoint":
        return BY_CODE[value].label if value in BY_CODE else str(value)
    if field.name in _CHECKLISTS:
        vocabulary = _CHECKLISTS[field.name]
        return "; ".join(vocabulary.label(code) if code in vocabulary else str(code) for code in value) or "none"
    if isinstance(field, models.BooleanField):
        return "yes" if value else "no"
    if isinstance(field, models.ForeignKey):
        return (labels or {}).get((field.related_model, value)) or f"#{value}"
    if isinstance(value, datetime):  # a void's time (issue 13): a moment, relative for a de-identified reader
        return display.moment(value)
    if isinstance(field, models.DateField) and isinstance(value, date):
        return display.date(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _masked(field: models.Field, value: object, display: ValueDisplay, labels: dict | None = None) -> str:
    return "—" if value is None or value == "" else FREE_TEXT_HIDDEN


def _value(row: models.Model, field: models.Field) -> object:
    return getattr(row, field.attname)


def _changes(model, before, after, display: ValueDisplay, labels: dict) -> tuple[FieldChange, ...]:  # noqa: ANN001
    changes = []
    for field in _fields(model):
        if display.hides(model, field.name):
            continue
        old = None if before is None else _value(before, field)
        new = _value(after, field)
        if before is not None and old == new:
            continue
        if before is None and (new is None or new == "" or new == []):
            continue
        label = FIELD_LABELS.get(field.name) or field.name.replace("_", " ").capitalize()
        shown = _masked if display.masks(model, field.name) else _display
        old_text = "" if before is None else shown(field, old, display, labels)
        changes.append(FieldChange(field.name, label, old_text, shown(field, new, display, labels)))
    return tuple(changes)


def _foreign_key_labels(rows_by_kind: dict[str, list]) -> dict[tuple[type, int], str]:
    """Readable names of the records history rows point to (site code, username, fracture level…),
    one query per kind of target."""
    wanted: dict[type, set[int]] = {}
    for kind, rows in rows_by_kind.items():
        for field in _fields(RECORD_KINDS[kind]):
            if isinstance(field, models.ForeignKey):
                ids = {getattr(row, field.attname) for row in rows} - {None}
                wanted.setdefault(field.related_model, set()).update(ids)
    labels: dict[tuple[type, int], str] = {}
    for target, ids in wanted.items():
        if not ids:
            continue
        if target is Fracture:
            found = {pk: f"{level or 'level not recorded'} (fracture #{pk})" for pk, level in Fracture.history.filter(id__in=ids).order_by("history_id").values_list("id", "level")}
        elif target is Patient:
            found = dict(Patient.objects.filter(pk__in=ids).values_list("pk", "study_id"))
        elif target._meta.model_name == "site":
            found = dict(target.objects.filter(pk__in=ids).values_list("pk", "code"))
        elif hasattr(target, "USERNAME_FIELD"):
            found = dict(target.objects.filter(pk__in=ids).values_list("pk", target.USERNAME_FIELD))
        else:
            found = {pk: f"{target._meta.verbose_name} #{pk}" for pk in ids}
        labels.update({(target, pk): label for pk, label in found.items()})
    return labels


def _entries(kind: str, rows: Iterable, display: ValueDisplay, labels: dict) -> list[HistoryEntry]:
    """Turn the history rows of one model (any number of records) into entries."""
    model = RECORD_KINDS[kind]
    previous: dict[int, object] = {}
    entries = []
    for row in sorted(rows, key=lambda r: (r.id, r.history_id)):
        before = previous.get(row.id)
        action = ACTIONS[row.history_type]
        if action == "deleted":
            changes: tuple[FieldChange, ...] = ()
        else:
            changes = _changes(model, before, row, display, labels)
        if before is None and action == "changed":
            # The first saved state of an imported record: there is nothing older to compare with.
            action = "state before the first recorded change"
        user = row.history_user.get_username() if row.history_user_id else _anonymous_actor(row)
        entries.append(
            HistoryEntry(row.history_date, display.moment(row.history_date), user, action, kind, row.id, changes,
                         display.reason(row.history_change_reason or ""))
        )
        previous[row.id] = row
    return entries


def _anonymous_actor(row) -> str:  # noqa: ANN001
    """Who made a change without an account: the patient, answering through an invitation (issue 9:
    their score's history names them so), or the command line and imports."""
    reason = row.history_change_reason or ""
    for prefix in ("answered by the patient through invitation ", "the patient opted out of messages through invitation "):
        if reason.startswith(prefix):
            return f"the patient (through invitation {reason.removeprefix(prefix)})"
    return "(no user: command line or import)"


def _importer(batch: ImportBatch | None) -> str:
    """Who ran an import: the registry account (and the operating-system user, when both are known)."""
    if batch is None:
        return "(command line)"
    if batch.user_id:
        account = batch.user.get_username()
        return f"{account} (operating-system user {batch.os_user})" if batch.os_user and batch.os_user != account else account
    return batch.os_user or "(command line)"


def _import_entries(kind: str, records: Iterable[tuple[int, int, datetime]], batches: dict[int, ImportBatch], display: ValueDisplay) -> list[HistoryEntry]:
    entries = []
    for record_id, batch_id, created_at in records:
        batch = batches.get(batch_id)
        reason = display.reason(f"import #{batch_id}" + (f" of {batch.file_name}" if batch else ""))
        entries.append(HistoryEntry(created_at, display.moment(created_at), _importer(batch), "imported", kind, record_id, (), reason))
    return entries


def _collect(kind_rows: dict[str, models.QuerySet], kind_live: dict[str, models.QuerySet], display: ValueDisplay) -> list[HistoryEntry]:
    rows_by_kind = {kind: list(rows.select_related("history_user")) for kind, rows in kind_rows.items()}
    labels = _foreign_key_labels(rows_by_kind)
    entries: list[HistoryEntry] = []
    for kind, rows in rows_by_kind.items():
        entries += _entries(kind, rows, display, labels)
    imported = {kind: list(live.filter(import_batch__isnull=False).values_list("id", "import_batch_id", "created_at")) for kind, live in kind_live.items()}
    batch_ids = {batch_id for rows in imported.values() for _, batch_id, _ in rows}
    batches = {b.pk: b for b in ImportBatch.objects.filter(pk__in=batch_ids).select_related("user")} if batch_ids else {}
    for kind, rows in imported.items():
        entries += _import_entries(kind, rows, batches, display)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def patient_history(*, patient: Patient, display: ValueDisplay) -> list[HistoryEntry]:
    """Every change to the patient and every record under them (deleted records included), newest first."""
    # Imported procedures have no history row (their import is their creation audit): the live ones count too.
    procedure_ids = set(Procedure.history.filter(patient_id=patient.pk).values_list("id", flat=True))
    procedure_ids |= set(Procedure.objects.filter(patient_id=patient.pk).values_list("id", flat=True))
    kind_rows = {
        "patient": Patient.history.filter(id=patient.pk),
        "fracture": Fracture.history.filter(patient_id=patient.pk),
        "eligibility": EligibilityAssessment.history.filter(patient_id=patient.pk),
        "procedure": Procedure.history.filter(patient_id=patient.pk),
        "level": TreatedLevel.history.filter(procedure_id__in=procedure_ids),
        "complication": Complication.history.filter(procedure_id__in=procedure_ids),
        "follow-up": FollowUp.history.filter(patient_id=patient.pk),
        "pain": PainAssessment.history.filter(patient_id=patient.pk),
    }
    kind_live = {
        "patient": Patient.objects.filter(pk=patient.pk),
        "fracture": Fracture.objects.filter(patient_id=patient.pk),
        "procedure": Procedure.objects.filter(patient_id=patient.pk),
        "level": TreatedLevel.objects.filter(procedure__patient_id=patient.pk),
        "follow-up": FollowUp.objects.filter(patient_id=patient.pk),
        "pain": PainAssessment.objects.filter(patient_id=patient.pk),
    }
    return _collect(kind_rows, kind_live, display)


def record_history(*, kind: str, record_id: int, display: ValueDisplay) -> list[HistoryEntry]:
    """Every change to one record, newest first."""
    model = RECORD_KINDS[kind]
    return _collect({kind: model.history.filter(id=record_id)}, {kind: model.objects.filter(pk=record_id)}, display)


def history_patient_id(*, kind: str, record_id: int) -> int | None:
    """The patient a record (live or deleted) belongs to, from its history — for access checks."""
    model = RECORD_KINDS[kind]
    row = model.history.filter(id=record_id).order_by("-history_id").first()
    if row is None:
        live = model.objects.filter(pk=record_id).first()
        if live is None:
            return None
        row = live
    if kind == "patient":
        return row.id
    if kind in ("level", "complication"):
        # An imported procedure has no history row: its live row names the patient.
        procedure = (
            Procedure.history.filter(id=row.procedure_id).order_by("-history_id").first()
            or Procedure.objects.filter(pk=row.procedure_id).first()
        )
        return procedure.patient_id if procedure else None
    return row.patient_id
