"""The registry as FHIR R4 Bundles: one ``collection`` Bundle per patient.

Resources (DESIGN.md §4): Patient; a Condition per treated fracture (ICD-10-CM M80.08XA osteoporotic,
M84.58XA pathologic; traumatic fractures carry text only, the study has no code for them), with the
level as body site; the index Procedure (CPT 22510/22511 + 22512 per extra level, kyphoplasty
22513/22514 + 22515) with its levels and the fractures as reasons; an Observation per pain score
(LOINC 72514-3, ``valueQuantity`` 0–10 ``{score}``) and an Encounter for each assessment with a venue.

Why ``fhir.resources.R4B``: fhir.resources 8 ships R5 as its default models and R4B and STU3 as
sub-packages, but no R4 package. R4B (4.3) left Patient, Condition, Procedure, Observation, Encounter
and Bundle as they were in R4 (4.0.1) — R5 is the release that changed them (Encounter.class became a
list, Procedure.performed became occurrence) — so a resource that validates against the R4B models is
a valid R4 resource. Every resource is built through those models, which validate it.

De-identified Bundles carry no names, identifiers but the keyed hash, dates or birth date: each time
is given as days from the index procedure in the extension :data:`DAYS_EXTENSION`.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from fhir.resources.R4B.bundle import Bundle

from ..domain.levels import cpt_codes
from ..domain.vocabulary import ETIOLOGY, VENUE
from ..errors import VertebroError
from .deidentify import AGE_TOP_CODE

LOINC = "http://loinc.org"
PAIN_LOINC = "72514-3"
PAIN_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
STUDY_ID_SYSTEM = "urn:vertebro:study-id"
MRN_SYSTEM_PREFIX = "urn:vertebro:mrn:"  # + the site code: an MRN is unique within its hospital only
MR_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_TYPE = {"coding": [{"system": MR_TYPE_SYSTEM, "code": "MR", "display": "Medical record number"}]}
LEVEL_SYSTEM = "urn:vertebro:vertebral-level"
VENUE_SYSTEM = "urn:vertebro:follow-up-venue"
TIMEPOINT_EXTENSION = "urn:vertebro:fhir:timepoint"
DAYS_EXTENSION = "urn:vertebro:fhir:days-from-index-procedure"
AGE_EXTENSION = "urn:vertebro:fhir:age-at-index-procedure"
ICD10_BY_ETIOLOGY = {
    "osteoporotic": ("M80.08XA", "Age-related osteoporosis with current pathological fracture, vertebra(e), initial encounter"),
    "pathologic": ("M84.58XA", "Pathological fracture in neoplastic disease, other specified site, initial encounter"),
}
CPT_DISPLAY = {
    "22510": "Vertebroplasty, cervicothoracic, first level",
    "22511": "Vertebroplasty, lumbosacral, first level",
    "22512": "Vertebroplasty, each additional level",
    "22513": "Kyphoplasty, thoracic, first level",
    "22514": "Kyphoplasty, lumbar, first level",
    "22515": "Kyphoplasty, each additional level",
}
_NAMESPACE = uuid.UUID("5b0e5b4e-6c1b-4f57-9a53-7c2f0b6d1a10")


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '|'.join(map(str, parts)))}"


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _when(resource: dict, field: str, date: object, days: object, *, deidentified: bool) -> None:
    """A real date when identified; days from the index procedure (an extension) when de-identified."""
    if deidentified:
        if not _missing(days):
            resource.setdefault("extension", []).append({"url": DAYS_EXTENSION, "valueInteger": int(days)})
    elif not _missing(date):
        resource[field] = _iso(date)


def patient_bundle(visits: pd.DataFrame, *, deidentified: bool, mrn_systems: Mapping[str, str] | None = None) -> dict:
    """One patient's Bundle (a validated ``fhir.resources.R4B`` Bundle, dumped to JSON-ready dicts).
    The MRN is written under ``mrn_systems[site]`` (the site's first configured system), else under
    ``urn:vertebro:mrn:<site>``."""
    first = visits.iloc[0]
    study_id = str(first["patient_id"])
    patient_url = _urn("Patient", study_id)
    patient: dict = {
        "resourceType": "Patient",
        "identifier": [{"system": STUDY_ID_SYSTEM, "value": study_id}],
        "gender": {"F": "female", "M": "male"}[first["sex"]],
    }
    if not deidentified:
        if not _missing(first.get("mrn")):
            system = (mrn_systems or {}).get(first["site"]) or f"{MRN_SYSTEM_PREFIX}{first['site']}"
            patient["identifier"].append({"type": MRN_TYPE, "system": system, "value": str(first["mrn"])})
        if not _missing(first.get("name")):
            patient["name"] = [{"text": str(first["name"])}]
        if not _missing(first.get("birth_date")):
            patient["birthDate"] = _iso(first["birth_date"])
    if not _missing(first.get("age")):
        age = min(int(first["age"]), AGE_TOP_CODE) if deidentified else int(first["age"])
        patient["extension"] = [{"url": AGE_EXTENSION, "valueInteger": age}]
    entries = [(patient_url, patient)]
    subject = {"reference": patient_url}

    levels = [lv for lv in str(first.get("levels") or "").split(";") if lv]
    etiology = first["etiology"]
    conditions = []
    for level in levels or [None]:
        condition: dict = {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"text": f"{ETIOLOGY.label(etiology)} vertebral compression fracture"},
            "subject": subject,
        }
        if etiology in ICD10_BY_ETIOLOGY:
            code, display = ICD10_BY_ETIOLOGY[etiology]
            condition["code"]["coding"] = [{"system": ICD10CM, "code": code, "display": display}]
        if level:
            condition["bodySite"] = [{"coding": [{"system": LEVEL_SYSTEM, "code": level, "display": f"{level} vertebra"}], "text": level}]
        url = _urn("Condition", study_id, level)
        conditions.append({"reference": url})
        entries.append((url, condition))

    procedure: dict = {"resourceType": "Procedure", "status": "completed", "subject": subject, "reasonReference": conditions}
    codes = list(dict.fromkeys(cpt_codes(tuple(levels)))) if levels else []
    procedure["code"] = {
        "coding": [{"system": CPT, "code": c, "display": CPT_DISPLAY[c]} for c in codes],
        "text": "Vertebroplasty" + (f" {', '.join(levels)}" if levels else " (levels not recorded)"),
    }
    if levels:
        procedure["bodySite"] = [{"coding": [{"system": LEVEL_SYSTEM, "code": lv}], "text": lv} for lv in levels]
    _when(procedure, "performedDateTime", first.get("procedure_date"), 0, deidentified=deidentified)
    procedure_url = _urn("Procedure", study_id)
    entries.append((procedure_url, procedure))

    for visit in visits.itertuples(index=False):
        key = (study_id, visit.timepoint, getattr(visit, "days", ""))
        observation: dict = {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
            "code": {"coding": [{"system": LOINC, "code": PAIN_LOINC, "display": PAIN_DISPLAY}]},
            "subject": subject,
            "partOf": [{"reference": procedure_url}],
            "valueQuantity": {"value": float(visit.vps), "unit": "{score}", "system": UCUM, "code": "{score}"},
            "extension": [{"url": TIMEPOINT_EXTENSION, "valueCode": visit.timepoint}],
        }
        _when(observation, "effectiveDateTime", getattr(visit, "assessed_on", None), visit.days, deidentified=deidentified)
        if not _missing(visit.venue):
            encounter: dict = {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB" if visit.venue != "telephone" else "VR"},
                "serviceType": {"coding": [{"system": VENUE_SYSTEM, "code": visit.venue, "display": VENUE.label(visit.venue)}]},
                "subject": subject,
            }
            if deidentified:
                encounter["extension"] = [{"url": DAYS_EXTENSION, "valueInteger": int(visit.days)}]
            elif not _missing(getattr(visit, "assessed_on", None)):
                encounter["period"] = {"start": _iso(visit.assessed_on)}
            encounter_url = _urn("Encounter", *key)
            entries.append((encounter_url, encounter))
            observation["encounter"] = {"reference": encounter_url}
        entries.append((_urn("Observation", *key), observation))

    bundle = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": url, "resource": r} for url, r in entries]}
    )
    return json.loads(bundle.model_dump_json(exclude_none=True))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def bundle_file_names(study_ids: list[str]) -> dict[str, str]:
    """A distinct file name per study id, distinct also where case does not count (macOS, Windows).

    A study id made of letters, digits, ``.``, ``_`` and ``-`` names its file as it is (``VP0001.json``);
    any other id — and ids that differ only by case — takes the first 12 hex digits of its SHA-256
    after the readable part, so ``COL/1``, ``COL_1``, ``COL 1`` and ``COL:1`` make four files.

    Raises
    ------
    VertebroError
        When two names still coincide (a 48-bit hash collision): nothing is written.
    """
    folded = Counter(sid.casefold() for sid in study_ids)
    names = {}
    for sid in study_ids:
        safe = _UNSAFE.sub("_", sid)[:80]
        if safe != sid or folded[sid.casefold()] > 1 or safe.startswith("."):
            safe = f"{safe}-{hashlib.sha256(sid.encode('utf-8')).hexdigest()[:12]}"
        names[sid] = f"{safe}.json"
    clashes = [name for name, n in Counter(n.casefold() for n in names.values()).items() if n > 1]
    if clashes:
        raise VertebroError(f"the FHIR export would write two patients to {clashes[0]}; nothing was written")
    return names


def check_bundle_folder(out: Path) -> None:
    """The folder must be new or empty: an export never overwrites a Bundle or mixes with older ones."""
    if out.exists() and not out.is_dir():
        raise VertebroError(f"{out} is a file; a FHIR export writes a folder of Bundles: give a new or empty folder as --out")
    if out.is_dir() and (held := sum(1 for _ in out.iterdir())):
        raise VertebroError(
            f"the folder {out} already holds {held} file(s); a FHIR export writes into a new or empty folder, so that "
            "no earlier Bundle is overwritten or mixed in: choose another --out"
        )


def write_fhir_bundles(*, frame: pd.DataFrame, out: Path, deidentified: bool, mrn_systems: Mapping[str, str] | None = None) -> int:
    """Write one Bundle per patient of ``frame`` into the new or empty folder ``out``; returns the
    number of pain Observations. No file is ever overwritten (each is created exclusively)."""
    check_bundle_folder(out)
    names = bundle_file_names([str(sid) for sid in frame["patient_id"].unique()])
    out.mkdir(parents=True, exist_ok=True)
    for study_id, visits in frame.groupby("patient_id", sort=True):
        bundle = patient_bundle(visits, deidentified=deidentified, mrn_systems=mrn_systems)
        with (out / names[str(study_id)]).open("x", encoding="utf-8") as handle:
            handle.write(json.dumps(bundle, indent=1))
    return len(frame)
