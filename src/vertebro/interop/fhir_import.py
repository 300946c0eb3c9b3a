"""Importing pain scores from FHIR R4 Bundles (a JSON file, an NDJSON file or a folder of them).

Only pain Observations (LOINC 72514-3, in ``code`` or in a ``component``) are read. The score may
arrive as ``valueQuantity`` (unit ``{score}`` or none), ``valueInteger``, ``valueDecimal``, a component
carrying 72514-3, or a LOINC answer code LA6111-4 … LA13942-0 (0 … 10); any other value is refused by
name, and so is an Observation whose status is not a result (only ``final``, ``amended`` and
``corrected`` are read: ``entered-in-error``, ``cancelled``, ``preliminary`` … are reported). Each
Observation is matched to a registry patient by identifier — the study id (``urn:vertebro:study-id``)
or a medical record number issued under one of the patient's site's MRN systems (``vertebro site set
--mrn-system``) or its own ``urn:vertebro:mrn:<site code>`` (an MRN is only unique within the hospital
that issued it), given on the subject reference or on the Patient resource it points to in the
Bundle (or, in a bulk export folder, in ``Patient.ndjson``). Nothing is guessed:
an Observation whose patient is unknown, ambiguous, or has no procedure to time the score against is
reported, as is anything malformed. Matched scores become flat rows (the patient's fixed fields from
the registry) and go through the same validation and write path as a CSV import; in the error report
``line`` is the Observation's number in reading order and ``column`` names the file and entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import VertebroError
from ..domain.identifiers import own_mrn_system
from ..domain.rules import ASSESSMENT_DAYS_MIN, RULE_SCORE_TOO_EARLY
from ..domain.timepoints import SCHEDULE, UNSCHEDULED
from .fhir_export import DAYS_EXTENSION, LOINC, MR_TYPE_SYSTEM, PAIN_LOINC, STUDY_ID_SYSTEM, TIMEPOINT_EXTENSION, VENUE_SYSTEM
from .flat_validate import validate_flat_frame
from .importer import ImportOutcome, import_flat_table
from .problems import combine, problems_frame
from .tabular import Table

#: LOINC answer list LL2335-9 (0–10 numeric rating): answer code -> score.
LOINC_ANSWERS = {
    "LA6111-4": 0, "LA6112-2": 1, "LA6113-0": 2, "LA6114-8": 3, "LA6115-5": 4, "LA10137-0": 5,
    "LA10138-8": 6, "LA10139-6": 7, "LA10140-4": 8, "LA10141-2": 9, "LA13942-0": 10,
}
ACCEPTED = "valueQuantity {score}, valueInteger, valueDecimal, a 72514-3 component or a LOINC answer code LA6111-4…LA13942-0"
SCORE_UNITS = ("{score}", "", "1", "score")


class FhirProblem(Exception):
    def __init__(self, field: str, value: object, rule: str):
        self.field, self.value, self.rule = field, value, rule
        super().__init__(rule)


@dataclass(frozen=True)
class PainObservation:
    where: str  # "file.json entry 3"
    identifiers: tuple[tuple[str, str, str], ...]  # (kind, value, system): kind "study_id" or "mrn"
    score: float
    assessed_on: str
    timepoint: str
    venue: str


def _dict(value: object) -> dict:
    """Malformed JSON is common in the wild: a field that should be an object may be anything."""
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _codings(concept: object) -> list[dict]:
    return [c for c in _list(_dict(concept).get("coding")) if isinstance(c, dict)]


def _is_pain(code: object) -> bool:
    return any(c.get("system") == LOINC and c.get("code") == PAIN_LOINC for c in _codings(code))


def _value(holder: dict, path: str) -> float:
    """The 0–10 score a resource or component holds, or :class:`FhirProblem` naming what it holds."""
    if "valueQuantity" in holder:
        quantity = _dict(holder["valueQuantity"])
        unit = str(quantity.get("code", quantity.get("unit", "")) or "")
        if unit not in SCORE_UNITS:
            raise FhirProblem(f"{path}.valueQuantity", unit, f"a pain score is unitless {{score}}, not {unit!r}; accepted: {ACCEPTED}")
        return _number(quantity.get("value"), f"{path}.valueQuantity.value")
    if "valueInteger" in holder:
        return _number(holder["valueInteger"], f"{path}.valueInteger")
    if "valueDecimal" in holder:
        return _number(holder["valueDecimal"], f"{path}.valueDecimal")
    if "valueCodeableConcept" in holder:
        codings = _codings(holder["valueCodeableConcept"])
        for coding in codings:
            if coding.get("system") == LOINC and coding.get("code") in LOINC_ANSWERS:
                return float(LOINC_ANSWERS[coding["code"]])
        raise FhirProblem(f"{path}.valueCodeableConcept", json.dumps(holder["valueCodeableConcept"])[:80], f"not a LOINC 0–10 answer code; accepted: {ACCEPTED}")
    present = [k for k in holder if k.startswith("value")]
    raise FhirProblem(f"{path}.{present[0] if present else 'value[x]'}", holder.get(present[0]) if present else "", f"{present[0] if present else 'no value'} is not accepted for a pain score; accepted: {ACCEPTED}")


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FhirProblem(path, value, "a pain score must be a number from 0 to 10")
    return float(value)


def pain_score(observation: dict) -> float:
    """The pain score of a 72514-3 Observation (see the module docstring for what is accepted)."""
    if _is_pain(observation.get("code")) and any(k.startswith("value") for k in observation):
        return _value(observation, "Observation")
    for i, component in enumerate(_list(observation.get("component"))):
        if isinstance(component, dict) and _is_pain(component.get("code")):
            return _value(component, f"Observation.component[{i}]")
    return _value(observation, "Observation")


def _identifiers(subject: dict, patients: dict[str, dict]) -> tuple[tuple[str, str, str], ...]:
    """The identifiers that may name a registry patient: the study id, any identifier typed ``MR``
    (v2-0203), and any other that has a system (matched only when it is one of a site's MRN systems).
    Others (a system-less value, a social security number under its own system) never match a site's
    MRN, and are not repeated in the error report either."""
    found = []
    candidates = [subject.get("identifier")] if isinstance(subject.get("identifier"), dict) else []
    target = patients.get(str(subject.get("reference", "")))
    if target:
        candidates += [i for i in _list(target.get("identifier")) if isinstance(i, dict)]
    for identifier in candidates:
        value = identifier.get("value")
        value = value.strip() if isinstance(value, str) else ""
        codes = {c.get("code") for c in _codings(identifier.get("type")) if c.get("system") in (MR_TYPE_SYSTEM, None)}
        system = str(identifier.get("system") or "")
        if value and system == STUDY_ID_SYSTEM:
            found.append(("study_id", value, system))
        elif value and "MR" in codes:
            found.append(("mrn", value, system))
        elif value and system:
            found.append(("system", value, system))
    return tuple(dict.fromkeys(found))


#: Observation statuses that are results (FHIR R4 ObservationStatus).
RESULT_STATUSES = ("final", "amended", "corrected")


def _check_status(observation: dict) -> None:
    status = observation.get("status")
    if status not in RESULT_STATUSES:
        raise FhirProblem("Observation.status", status if status is not None else "(missing)",
                          "only final, amended or corrected Observations are results to import (entered-in-error, cancelled, preliminary and the like are not)")


def _effective(observation: dict) -> str:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if isinstance(observation.get(key), str):
            return observation[key][:10]
    period = _dict(observation.get("effectivePeriod"))
    if isinstance(period.get("start"), str):
        return period["start"][:10]
    if any(isinstance(e, dict) and e.get("url") == DAYS_EXTENSION for e in _list(observation.get("extension"))):
        raise FhirProblem("Observation.effective[x]", "", "a de-identified Observation (days only) cannot be timed against a registry procedure")
    raise FhirProblem("Observation.effective[x]", "", "a pain Observation needs its date (effectiveDateTime)")


def _extension(resource: dict, url: str) -> str:
    for extension in _list(resource.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == url:
            value = extension.get("valueCode") or extension.get("valueString")
            return value if isinstance(value, str) else ""
    return ""


def _venue(observation: dict, encounters: dict[str, dict]) -> str:
    encounter = encounters.get(str(_dict(observation.get("encounter")).get("reference", "")), {})
    for coding in _codings(encounter.get("serviceType")):
        if coding.get("system") == VENUE_SYSTEM and isinstance(coding.get("code"), str):
            return coding["code"]
    return ""


def _resources(document: object, where: str) -> list[tuple[str, dict]]:
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        entries = document.get("entry") or []
        if not isinstance(entries, list):
            raise FhirProblem("Bundle.entry", "", "Bundle.entry must be a list")
        out = []
        for i, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                out.append((f"{where} entry {i}", dict(resource, _fullUrl=entry.get("fullUrl"))))
        return out
    if isinstance(document, dict) and "resourceType" in document:
        return [(where, document)]
    raise FhirProblem("resourceType", "", "not a FHIR resource or Bundle")


def read_pain_observations(path: Path) -> tuple[list[PainObservation], pd.DataFrame]:
    """Every pain Observation under ``path``, and the problems of everything that could not be read."""
    if not path.exists():
        raise VertebroError(f"{path} does not exist; give a FHIR Bundle file or a folder of them")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".ndjson")) if path.is_dir() else [path]
    found, problems, number = [], [], 0
    read: list[tuple[Path, list]] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8-sig")
            documents = [json.loads(line) for line in text.splitlines() if line.strip()] if file.suffix.lower() == ".ndjson" else [json.loads(text)]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            number += 1
            problems.append((number, file.name, "", f"not readable JSON: {exc}"))
            found.append(None)
            continue
        read.append((file, documents))
    # Bulk $export output keeps each resource type in its own NDJSON file: an Observation in
    # Observation.ndjson names its Patient in Patient.ndjson, so their references resolve across files.
    shared = {f"{d.get('resourceType')}/{d.get('id')}": d for file, documents in read if file.suffix.lower() == ".ndjson"
              for d in documents if isinstance(d, dict) and d.get("id") and d.get("resourceType") in ("Patient", "Encounter")}
    for file, documents in read:
        for d, document in enumerate(documents):
            try:
                resources = _resources(document, file.name if len(documents) == 1 else f"{file.name} line {d + 1}")
            except FhirProblem as exc:
                number += 1
                problems.append((number, f"{file.name}: {exc.field}", str(exc.value), exc.rule))
                found.append(None)
                continue
            by_url = dict(shared)
            for _, resource in resources:
                for key in (resource.get("_fullUrl"), f"{resource.get('resourceType')}/{resource.get('id')}"):
                    if key:
                        by_url[str(key)] = resource
            patients = {k: r for k, r in by_url.items() if r.get("resourceType") == "Patient"}
            encounters = {k: r for k, r in by_url.items() if r.get("resourceType") == "Encounter"}
            for where, resource in resources:
                if resource.get("resourceType") != "Observation":
                    continue
                if not _is_pain(resource.get("code")) and not any(isinstance(c, dict) and _is_pain(c.get("code")) for c in _list(resource.get("component"))):
                    continue
                number += 1
                try:
                    _check_status(resource)
                    subject = resource.get("subject") if isinstance(resource.get("subject"), dict) else {}
                    identifiers = _identifiers(subject, patients)
                    if not identifiers:
                        raise FhirProblem("Observation.subject", json.dumps(subject)[:80],
                                      "the subject names no study id (urn:vertebro:study-id) or MRN (an identifier typed MR, or under a site's MRN system): it cannot be matched")
                    found.append(PainObservation(where, identifiers, pain_score(resource), _effective(resource),
                                                 _extension(resource, TIMEPOINT_EXTENSION), _venue(resource, encounters)))
                except FhirProblem as exc:
                    problems.append((number, f"{where}: {exc.field}", str(exc.value), exc.rule))
                    found.append(None)  # keeps numbering: the n-th pain Observation is line n
    return found, combine([problems_frame(*zip(*problems))] if problems else [])


def ignored_ndjson_files(path: Path) -> list[str]:
    """The NDJSON files of a bulk export folder that hold neither Patients nor Observations (Encounter,
    Condition, Claim, …): read for references only, or not at all; told to the person importing."""
    if not path.is_dir():
        return []
    ignored = []
    for file in sorted(path.rglob("*.ndjson")):
        try:
            with file.open(encoding="utf-8-sig") as handle:
                kinds = {json.loads(line).get("resourceType") for line in handle if line.strip()}
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue  # reported by the import itself
        if not kinds & {"Patient", "Observation"}:
            ignored.append(f"{file.relative_to(path)} ({', '.join(sorted(str(k) for k in kinds))})")
    return ignored


def _registry_patients(observations: list[PainObservation]) -> pd.DataFrame:
    """Fixed fields of every registry patient an Observation names, with its index procedure."""
    from ..registry.models import Patient, Procedure, TreatedLevel

    study_ids = {v for o in observations for k, v, _ in o.identifiers if k == "study_id"}
    mrns = {v for o in observations for k, v, _ in o.identifiers if k in ("mrn", "system")}
    rows = list(Patient.objects.filter(study_id__in=study_ids).values_list("id", "study_id", "mrn", "site__code", "sex", "birth_date", "age_at_index"))
    rows += list(Patient.objects.filter(mrn__in=mrns).values_list("id", "study_id", "mrn", "site__code", "sex", "birth_date", "age_at_index"))
    people = pd.DataFrame(rows, columns=["pk", "patient_id", "mrn", "site", "sex", "birth_date", "age"]).drop_duplicates("pk")
    procedures = pd.DataFrame(
        list(Procedure.objects.filter(patient_id__in=people["pk"].tolist()).order_by("patient_id", "performed_on", "id").values_list("patient_id", "id", "performed_on")),
        columns=["pk", "procedure", "procedure_date"],
    ).drop_duplicates("pk")
    treated = pd.DataFrame(
        list(TreatedLevel.objects.filter(procedure_id__in=procedures["procedure"].tolist()).values_list("procedure_id", "fracture__level", "fracture__etiology")),
        columns=["procedure", "level", "etiology"],
    )
    from ..domain.levels import level_index

    summary = treated.groupby("procedure").agg(
        levels=("level", lambda lv: ";".join(sorted((x for x in lv if x), key=level_index))),
        etiology=("etiology", lambda e: next(x for x in ("pathologic", "traumatic", "osteoporotic") if x in set(e))),
    ).reset_index()
    return people.merge(procedures, on="pk", how="left").merge(summary, on="procedure", how="left")


def site_mrn_systems() -> dict[str, tuple[str, ...]]:
    """Each site's configured MRN systems, in order."""
    from ..registry.models import SiteMrnSystem

    systems: dict[str, list[str]] = {}
    for code, system in SiteMrnSystem.objects.order_by("site__code", "position").values_list("site__code", "system"):
        systems.setdefault(code, []).append(system)
    return {code: tuple(s) for code, s in systems.items()}


LAST_WINDOW_DAY = SCHEDULE[-1].last_day


def _window(observation: PainObservation, patient, *, unscheduled: bool) -> tuple[str, str]:  # noqa: ANN001
    """The timepoint to import an Observation at, and why it cannot be imported ("" when it can).

    An Observation that names no timepoint and lies outside every window is reported with its date
    and its day from the procedure: after the last window (day 545) it is imported as an unscheduled
    assessment only with ``unscheduled``; more than 30 days before the procedure it is always refused."""
    try:
        taken = date.fromisoformat(observation.assessed_on)
    except ValueError:
        return observation.timepoint, ""  # the flat validation names the date
    days = (taken - pd.Timestamp(patient.procedure_date).date()).days
    where = f"assessed on {taken}, day {days} from the procedure of {pd.Timestamp(patient.procedure_date).date()}"
    if days < ASSESSMENT_DAYS_MIN:
        return observation.timepoint, f"{where}: {RULE_SCORE_TOO_EARLY}"
    if observation.timepoint or days <= LAST_WINDOW_DAY:
        return observation.timepoint, ""
    if unscheduled:
        return UNSCHEDULED, ""
    return "", (f"{where}: outside every timepoint window (baseline opens day {ASSESSMENT_DAYS_MIN}, 12m closes day {LAST_WINDOW_DAY}); "
                "import with --unscheduled to keep it as an unscheduled assessment")


def fhir_flat_table(observations: list[PainObservation | None], registry: pd.DataFrame,
                    site_systems: dict[str, tuple[str, ...]] | None = None, *, unscheduled: bool = False) -> tuple[Table, pd.DataFrame, dict[int, str]]:
    """Flat rows for the matched Observations; problems for the unmatched; each line's location.
    ``site_systems`` gives each site's configured MRN systems (its own ``urn:vertebro:mrn:<code>`` always counts)."""
    site_systems = site_systems or {}
    rows, lines, problems, where = [], [], [], {}
    by_study = {r.patient_id: r for r in registry.itertuples(index=False)}
    by_mrn: dict[str, list] = {}
    for r in registry.itertuples(index=False):
        if r.mrn:
            by_mrn.setdefault(r.mrn, []).append(r)
    for number, observation in enumerate(observations, start=1):
        if observation is None:
            continue
        where[number] = observation.where
        matches, foreign = {}, []
        for kind, value, system in observation.identifiers:
            if kind == "study_id" and value in by_study:
                matches[by_study[value].pk] = by_study[value]
            for r in by_mrn.get(value, []) if kind != "study_id" else []:
                issued_by = [own_mrn_system(r.site), *site_systems.get(r.site, ())]
                if system in issued_by:
                    matches[r.pk] = r
                elif kind == "mrn":
                    foreign.append(f"{system or 'no system'}, and patient {r.patient_id}'s site {r.site} issues its MRNs under "
                                   f"{', '.join(issued_by)} (add the hospital's system with `vertebro site set {r.site} --mrn-system URI`)")
        shown = ", ".join(f"{'study id' if k == 'study_id' else 'MRN'} {v}" + (f" ({s})" if k != "study_id" else "") for k, v, s in observation.identifiers if k != "system")
        shown = shown or "(no study id and no MR-typed identifier)"
        if not matches:
            rule = "no registry patient has this identifier"
            if foreign:
                rule = f"an MRN matches only under a system of the patient's site; this one is issued under {foreign[0]}"
            problems.append((number, f"{observation.where}: Observation.subject", shown, rule))
            continue
        if len(matches) > 1:
            problems.append((number, f"{observation.where}: Observation.subject", shown, "the identifiers name more than one registry patient"))
            continue
        patient = next(iter(matches.values()))
        if pd.isna(patient.procedure_date):
            problems.append((number, f"{observation.where}: Observation.subject", shown, f"patient {patient.patient_id} has no procedure in the registry to time the score against"))
            continue
        timepoint, outside = _window(observation, patient, unscheduled=unscheduled)
        if outside:
            problems.append((number, f"{observation.where}: Observation.effectiveDateTime", observation.assessed_on, outside))
            continue
        born = not pd.isna(patient.birth_date)
        rows.append({
            "patient_id": patient.patient_id, "site": patient.site, "sex": patient.sex,
            "birth_date": str(patient.birth_date) if born else "", "age": "" if born or pd.isna(patient.age) else str(int(patient.age)),
            "etiology": patient.etiology if isinstance(patient.etiology, str) else "", "procedure_date": str(patient.procedure_date),
            "levels": patient.levels if isinstance(patient.levels, str) else "", "assessed_on": observation.assessed_on,
            "timepoint": timepoint, "vps": repr(observation.score), "venue": observation.venue,
        })
        lines.append(number)
    frame = pd.DataFrame(rows, columns=["patient_id", "site", "sex", "birth_date", "age", "etiology", "procedure_date", "levels", "assessed_on", "timepoint", "vps", "venue"], dtype="object")
    found = combine([problems_frame(*zip(*problems))]) if problems else combine([])
    return Table(frame, np.asarray(lines, dtype="int64"), combine([])), found, where


FLAT_TO_FHIR = {"vps": "Observation.value", "assessed_on": "Observation.effectiveDateTime", "timepoint": "Observation.extension[timepoint]", "days": "Observation.effectiveDateTime", "venue": "Encounter.serviceType"}


def import_fhir_path(
    *, path: Path, site: str | None = None, dry_run: bool = False, skip_invalid: bool = False, user=None,  # noqa: ANN001
    os_user: str | None = None, progress: Callable[[str, int, int], None] | None = None, unscheduled: bool = False,
) -> ImportOutcome:
    """Import the pain Observations of a Bundle file or folder (all or nothing, like a CSV import);
    ``unscheduled`` imports those after the last window as unscheduled assessments (see :func:`_window`)."""
    from .tabular import file_sha256

    observations, read_problems = read_pain_observations(path)
    registry = _registry_patients([o for o in observations if o is not None])
    flat, match_problems, where = fhir_flat_table(observations, registry, site_mrn_systems(), unscheduled=unscheduled)
    validation = validate_flat_frame(flat.frame, lines=flat.lines, site=site)
    problems = combine([read_problems, match_problems, _in_fhir_terms(validation.problems, where)])
    validation = type(validation)(validation.frame, problems, len(observations))
    digest = file_sha256(path) if path.is_file() else _folder_digest(path)
    return import_flat_table(table=flat, source=path, file_format="fhir", sha256=digest, site=site, dry_run=dry_run,
                             skip_invalid=skip_invalid, user=user, os_user=os_user, progress=progress, validation=validation)


def _in_fhir_terms(problems: pd.DataFrame, where: dict[int, str]) -> pd.DataFrame:
    """Flat-format problems located by file and entry, and named by the FHIR element (or registry field)."""
    told = problems.copy()
    if len(told):
        told["column"] = [f"{where.get(int(line), '?')}: {FLAT_TO_FHIR.get(c, 'registry ' + c)}" for line, c in zip(told["line"], told["column"])]
    return told


def _folder_digest(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".ndjson")):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
