"""What an import file says against what the registry already holds about the same patients.

Validation checks a file on its own; these rules need the registry. An import updates values (with
history) but never guesses at identity or structure, so for a patient the registry already holds:

- the site must be the one the patient is registered at: an import does not move patients between
  sites (and ``--site`` cannot take over another site's patients);
- the procedure date must be one of the patient's recorded procedures: a different date would add a
  second procedure with a copy of every score, not correct the first;
- the levels, when the file gives them, must be the named levels that procedure treated (a fracture
  whose level is not recorded is not written in a file, and is left alone): changing which vertebrae
  were treated, or naming the level of a fracture recorded without one, is a clinical correction made
  in the registry, not by an import (a blank ``levels`` cell keeps the recorded ones);
- the age and the birth date, whichever side gives them, must agree at the procedure;
- the procedure date keeps the order of the recorded dates (``domain/chronology.py``): not before the
  registry's date of birth, nor before the patient's first eligibility checklist;
- a site the registry does not know is refused once the registry has sites: a mistyped code would
  otherwise open a new site whose patients no site's coordinators can see (the first import into an
  empty registry creates its sites; later ones are added with ``vertebro site add``).

Each broken rule is reported on every line of the patient, so ``--skip-invalid`` skips the patient
whole and the rest of the file goes in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...domain import chronology
from ...domain.levels import LEVEL_CODES, parse_levels
from ..models import EligibilityAssessment, Patient, Procedure, Site, TreatedLevel
from ..services.flat_import_writes import fetch_frame

PROBLEM_COLUMNS = ["line", "column", "value", "rule"]
_NOT_RECORDED = 1 << 40  # the bit of a fracture whose level is not recorded (LEVEL_CODES take bits 0–28)


def flat_registry_conflicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Problems (``line, column, value, rule``) of a validated flat frame against the registry.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``FlatValidation.frame`` (normalised values and the file ``line`` of each row), or any flat
        frame of text cells (lines then count from 2, after the header).

    Returns
    -------
    pandas.DataFrame
        One row per file line and broken rule; empty when the file agrees with the registry (always
        for patients the registry does not hold yet).
    """
    if frame.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    unknown = _unknown_sites(frame)
    if not Patient.objects.exists():
        return _on_lines(frame, unknown, key="site")
    people = _per_patient(frame)
    stored = fetch_frame(Patient.objects.all(), "study_id", people.index.tolist(), ["id", "study_id", "site__code", "birth_date", "age_at_index"])
    if stored.empty:  # only new patients: the unknown sites are all there is to say
        return _on_lines(frame, unknown, key="site")
    stored = stored.rename(columns={"birth_date": "stored_birth_date"}).set_index("study_id")
    people = people.join(stored, how="inner")
    people["stored_birth_date"] = pd.to_datetime(people["stored_birth_date"])
    procedures = fetch_frame(Procedure.objects.all(), "patient_id", people["id"].astype("int64").tolist(), ["id", "patient_id", "performed_on"])
    procedures = procedures.astype({"id": "int64", "patient_id": "int64"}).assign(performed_on=pd.to_datetime(procedures["performed_on"]))
    people["id"] = people["id"].astype("int64")
    # Ages are at the index procedure: the patient's first, or the file's when the registry has none yet.
    first = procedures.groupby("patient_id")["performed_on"].min()
    people["index_date"] = people["id"].map(first).fillna(people["procedure_date"])
    found = (
        _site_conflicts(people, unknown={code for code, *_ in unknown}) + _procedure_conflicts(people, procedures) + _age_conflicts(people)
        + _level_conflicts(people, procedures) + _chronology_conflicts(people)
    )
    return pd.concat([_on_lines(frame, unknown, key="site"), _on_lines(frame, found, key="patient_id")], ignore_index=True).sort_values(
        ["line", "column"], kind="stable"
    ).reset_index(drop=True)


def _unknown_sites(frame: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(site, column, value, rule) for each site code of the file the registry does not have."""
    if "site" not in frame:
        return []
    codes = sorted({str(code) for code in frame["site"].dropna().unique() if str(code).strip()})
    known = set(Site.objects.values_list("code", flat=True))
    if not known:
        return []  # an empty registry: its first import creates its sites
    listed = ", ".join(sorted(known))
    return [
        (code, "site", code, f"the registry has no site {code} (it has {listed}): add it with `vertebro site add {code} \"Full name\"` first, or correct the code")
        for code in codes if code not in known
    ]


def _on_lines(frame: pd.DataFrame, found: list[tuple[str, str, str, str]], *, key: str) -> pd.DataFrame:
    """Problems ``found`` as (key value, column, value, rule) on every line whose ``key`` column holds it."""
    if not found:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    problems = pd.DataFrame(found, columns=[key, "column", "value", "rule"])
    line = frame["line"].to_numpy() if "line" in frame else np.arange(len(frame)) + 2
    lines = pd.DataFrame({key: frame[key].astype("object").astype(str).to_numpy(), "line": line})
    return lines.merge(problems, on=key)[PROBLEM_COLUMNS].astype({"line": np.int64})


def _per_patient(frame: pd.DataFrame) -> pd.DataFrame:
    """The fixed fields of each patient in the file (first value given; validation made them agree)."""
    columns = [c for c in ("site", "birth_date", "age", "procedure_date", "levels") if c in frame]
    people = frame[["patient_id", *columns]].astype({"patient_id": "object"}).groupby("patient_id", sort=False, observed=True).first()
    for column in ("site", "age", "levels"):
        if column not in people:
            people[column] = None
    if "birth_date" not in people:
        people["birth_date"] = pd.NaT
    people["site"] = people["site"].astype("object")
    people["levels"] = people["levels"].astype("object")
    people["age"] = pd.to_numeric(people["age"], errors="coerce").astype("float64")
    levels = people["levels"].astype("object")
    people["levels"] = levels.where(levels.astype(str).str.strip() != "", None)  # a blank cell gives no levels
    people["birth_date"] = _naive_dates(people["birth_date"])
    people["procedure_date"] = _naive_dates(people["procedure_date"])
    return people


def _naive_dates(values: pd.Series) -> pd.Series:
    """Dates without a time zone (validated frames hold them already; raw text may carry one)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    text = values.astype("object").where(values.notna(), None)
    return pd.to_datetime(text.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip()[:10]))


def _site_conflicts(people: pd.DataFrame, *, unknown: set[str]) -> list[tuple[str, str, str, str]]:
    site = people["site"].astype(str)
    moved = people[people["site"].notna() & (site != people["site__code"]) & ~site.isin(unknown)]
    return [
        (study_id, "site", str(row.site), f"patient {study_id} is registered at {row.site__code}; an import does not move patients between sites")
        for study_id, row in zip(moved.index, moved.itertuples(index=False))
    ]


def _procedure_conflicts(people: pd.DataFrame, procedures: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    recorded = pd.MultiIndex.from_frame(procedures[["patient_id", "performed_on"]])
    asked = pd.MultiIndex.from_arrays([people["id"], people["procedure_date"]])
    other = people[people["id"].isin(procedures["patient_id"]).to_numpy() & ~asked.isin(recorded)]
    if other.empty:
        return []
    dates = procedures[procedures["patient_id"].isin(other["id"])].groupby("patient_id")["performed_on"].agg(
        lambda days: ", ".join(sorted(d.strftime("%Y-%m-%d") for d in days))
    )
    return [
        (study_id, "procedure_date", row.procedure_date.strftime("%Y-%m-%d"),
         f"the registry holds patient {study_id}'s procedure on {dates[row.id]}; an import adds no second procedure — correct the date in the registry or in the file")
        for study_id, row in zip(other.index, other.itertuples(index=False))
    ]


def _age_conflicts(people: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """Age and birth date, whichever side gives them, agree at the index procedure (whole years). A
    recorded age counts only while the registry has no birth date (a birth date replaces it)."""
    birth = people["birth_date"].fillna(people["stored_birth_date"])
    known = birth.notna().to_numpy()
    if not known.any():
        return []
    procedure = people["index_date"]
    birthday_ahead = (procedure.dt.month * 100 + procedure.dt.day) < (birth.dt.month * 100 + birth.dt.day)
    computed = (procedure.dt.year - birth.dt.year - birthday_ahead.astype(int)).to_numpy(dtype="float64")
    from_file = people["birth_date"].notna().to_numpy()
    age, stored_age = people["age"].to_numpy(), pd.to_numeric(people["age_at_index"], errors="coerce").to_numpy(dtype="float64")
    found = []
    with np.errstate(invalid="ignore"):
        file_age = known & ~from_file & ~np.isnan(age) & (age != computed)
        no_recorded_birth = people["stored_birth_date"].isna().to_numpy()
        stored = known & from_file & no_recorded_birth & np.isnan(age) & ~np.isnan(stored_age) & (stored_age != computed)
    for i in np.flatnonzero(file_age):
        found.append((people.index[i], "age", str(int(age[i])),
                      f"the registry's birth date {birth.iloc[i]:%Y-%m-%d} gives age {int(computed[i])} at the procedure; correct one of them"))
    for i in np.flatnonzero(stored):
        found.append((people.index[i], "birth_date", f"{birth.iloc[i]:%Y-%m-%d}",
                      f"the registry records age {int(stored_age[i])} at the procedure; this birth date gives {int(computed[i])}; correct one of them"))
    return found


def _chronology_conflicts(people: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """The file's procedure date against the registry's date of birth (when the file gives none: the
    validator compares the file's own) and the patient's first eligibility checklist."""
    first = fetch_frame(EligibilityAssessment.objects.order_by(), "patient_id", people["id"].tolist(), ["patient_id", "assessed_on"])
    checklist = pd.to_datetime(first.groupby("patient_id")["assessed_on"].min()) if len(first) else pd.Series(dtype="datetime64[ns]")
    procedure = people["procedure_date"]
    found = []
    born_later = people["birth_date"].isna() & (procedure < people["stored_birth_date"])
    for study_id, row in people[born_later.to_numpy()].iterrows():
        found.append((study_id, "procedure_date", f"{row.procedure_date:%Y-%m-%d}",
                      f"{chronology.RULE_PROCEDURE_BEFORE_BIRTH} ({row.stored_birth_date:%Y-%m-%d}, recorded in the registry)"))
    first_checklist = people["id"].map(checklist)
    early = (procedure < first_checklist).to_numpy()
    for (study_id, row), on in zip(people[early].iterrows(), first_checklist[early]):
        found.append((study_id, "procedure_date", f"{row.procedure_date:%Y-%m-%d}",
                      f"{chronology.RULE_PROCEDURE_BEFORE_CHECKLIST} ({on:%Y-%m-%d}, recorded in the registry)"))
    return found


def _level_conflicts(people: pd.DataFrame, procedures: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """Levels given in the file against the levels the matched procedure treated, compared as bit sets
    (one bit per level, one for "not recorded"): no Python work per procedure."""
    given = people[people["levels"].notna()]
    if given.empty or procedures.empty:
        return []
    matched = given.rename_axis("study_id").reset_index().merge(
        procedures, left_on=["id", "procedure_date"], right_on=["patient_id", "performed_on"], suffixes=("", "_procedure")
    )
    if matched.empty:
        return []
    treated = fetch_frame(TreatedLevel.objects.all(), "procedure_id", matched["id_procedure"].astype("int64").tolist(), ["procedure_id", "fracture__level"])
    if treated.empty:
        return []
    bit = {code: 1 << i for i, code in enumerate(LEVEL_CODES)}
    level_bits = treated["fracture__level"].map(lambda code: bit.get(code, _NOT_RECORDED)).astype("int64")
    recorded = level_bits.groupby(treated["procedure_id"].astype("int64").to_numpy()).sum()  # distinct levels: sum is OR
    wanted_of = {text: sum(bit[code] for code in parse_levels(text)) for text in matched["levels"].unique()}
    stored = matched["id_procedure"].astype("int64").map(recorded)
    named = stored.fillna(0).astype("int64") & ~_NOT_RECORDED
    wanted = matched["levels"].map(wanted_of).astype("int64")
    differ = matched[stored.notna().to_numpy() & (named != wanted).to_numpy()]
    found = []
    for row, mask, full in zip(differ.itertuples(index=False), named[differ.index], stored[differ.index].astype("int64")):
        if mask:
            shown = ";".join(code for code in LEVEL_CODES if mask & bit[code])
            shown += " (and a fracture whose level is not recorded, which an import does not name)" if full & _NOT_RECORDED else ""
            rule = f"the registry records {shown} for this procedure; an import does not change which levels were treated — correct it in the registry"
        else:
            rule = "the registry records this procedure's fracture without its level; an import does not name it — record the level in the registry"
        found.append((row.study_id, "levels", str(row.levels), rule))
    return found

