"""The one door from the registry to the statistics: the flat format as a DataFrame."""

from __future__ import annotations

import pandas as pd

from ...domain.flat import FLAT_COLUMNS
from ...domain.levels import LEVEL_CODES
from ...domain.rules import age_at
from ...domain.timepoints import schedule_order
from ..models import FollowUp, PainAssessment, Patient, Procedure, Site, TreatedLevel

OUTPUT_COLUMNS = FLAT_COLUMNS + ("assessed_on", "levels", "cement_ml")
IDENTIFIER_COLUMNS = ("mrn", "name", "birth_date")


def procedure_etiology(etiologies) -> str:  # noqa: ANN001 - any iterable of etiology codes
    """One etiology per procedure: pathologic wins, then traumatic, then osteoporotic."""
    present = set(etiologies)
    for etiology in ("pathologic", "traumatic", "osteoporotic"):
        if etiology in present:
            return etiology
    return ""


def _frame(queryset, columns: list[str]) -> pd.DataFrame:  # noqa: ANN001
    return pd.DataFrame.from_records(list(queryset.values_list(*columns)), columns=columns)


def flat_assessments_df(*, site_codes: list[str] | None = None, include_identifiers: bool = False) -> pd.DataFrame:
    """One row per pain assessment timed against each patient's index (first) procedure.

    Parameters
    ----------
    site_codes : list of str, optional
        Only these sites (default: all).
    include_identifiers : bool
        Add ``mrn``, ``name`` and ``birth_date`` (protected; never for analysts or de-identified output).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, site, sex, age, etiology, procedure_date, timepoint, days, vps, venue,
        recurrent_pain, assessed_on, levels, cement_ml`` (plus identifiers if asked). ``age`` is whole
        years at the index procedure, ``days`` days from it, ``recurrent_pain`` 0/1 from the follow-up
        encounter of the assessment (missing for baseline), ``levels`` the treated levels craniocaudally
        joined by ``;``, ``cement_ml`` the total volume. Sorted by patient and schedule.
    """
    patients = Patient.objects.all()
    if site_codes is not None:
        patients = patients.filter(site__code__in=site_codes)
    patient_columns = ["id", "study_id", "site__code", "sex", "birth_date", "age_at_index"] + (
        ["mrn", "name"] if include_identifiers else []
    )
    people = _frame(patients, patient_columns).rename(columns={"id": "patient_pk"})

    procedures = _frame(
        Procedure.objects.active().filter(patient__in=patients).order_by("patient_id", "performed_on", "id"),
        ["id", "patient_id", "performed_on"],
    )
    index = procedures.drop_duplicates("patient_id", keep="first").rename(
        columns={"id": "procedure_pk", "patient_id": "patient_pk", "performed_on": "procedure_date"}
    )

    treated = _frame(
        TreatedLevel.objects.filter(procedure__patient__in=patients, procedure__voided_at__isnull=True),
        ["procedure_id", "fracture__level", "fracture__etiology", "cement_ml"],
    )
    treated = treated[treated["procedure_id"].isin(index["procedure_pk"])]
    level_rank = {code: i for i, code in enumerate(LEVEL_CODES)}
    by_procedure = treated.groupby("procedure_id").agg(
        etiology=("fracture__etiology", procedure_etiology),
        levels=(
            "fracture__level",
            lambda levels: ";".join(sorted((lv for lv in levels if lv), key=level_rank.__getitem__)),
        ),
        cement_ml=("cement_ml", lambda ml: ml.sum(min_count=1)),
    )

    assessments = _frame(
        PainAssessment.objects.active().filter(patient__in=patients),
        ["procedure_id", "assessed_on", "score", "timepoint", "venue", "follow_up_id", "source"],
    )
    follow_ups = _frame(FollowUp.objects.active().filter(patient__in=patients), ["id", "venue", "recurrent_pain"]).rename(
        columns={"id": "follow_up_id", "venue": "follow_up_venue"}
    )

    rows = (
        assessments.merge(index, left_on="procedure_id", right_on="procedure_pk")
        .merge(people, on="patient_pk")
        .merge(by_procedure, left_on="procedure_id", right_index=True, how="left")
        .merge(follow_ups, on="follow_up_id", how="left")
    )
    out = pd.DataFrame(
        {
            "patient_id": rows["study_id"],
            "site": rows["site__code"],
            "sex": rows["sex"],
            "age": _age_at_procedure(rows),
            "etiology": rows["etiology"],
            "procedure_date": rows["procedure_date"],
            "timepoint": rows["timepoint"],
            "days": pd.array([(a - p).days for a, p in zip(rows["assessed_on"], rows["procedure_date"])], dtype="Int64"),
            "vps": rows["score"].astype(float),
            "venue": rows["venue"].where(rows["venue"].notna(), rows["follow_up_venue"]),
            "recurrent_pain": _recurrent_pain(rows),
            "assessed_on": rows["assessed_on"],
            "levels": rows["levels"],
            "cement_ml": rows["cement_ml"].astype(float),
            "source": rows["source"],
        }
    )
    if include_identifiers:
        for column in IDENTIFIER_COLUMNS:
            out[column] = rows[column]
    order = out["timepoint"].map(schedule_order)
    out = out.assign(_order=order).sort_values(["patient_id", "_order", "days"], kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)


def _age_at_procedure(rows: pd.DataFrame) -> pd.arrays.IntegerArray:
    ages = []
    for birth, stated, on in zip(rows["birth_date"], rows["age_at_index"], rows["procedure_date"]):
        if birth is not None and not pd.isna(birth):
            ages.append(age_at(birth, on))
        else:
            ages.append(None if pd.isna(stated) else int(stated))
    return pd.array(ages, dtype="Int64")


def _recurrent_pain(rows: pd.DataFrame) -> pd.arrays.IntegerArray:
    flags = rows["recurrent_pain"].where(rows["timepoint"] != "baseline")
    return pd.array([None if pd.isna(flag) else int(bool(flag)) for flag in flags], dtype="Int64")


def synthetic_site_codes() -> list[str]:
    """Sites holding patients whose name marks them as `vertebro demo`'s synthetic ones."""
    from ...synth import SYNTHETIC_SITE_PREFIX

    return sorted(Site.objects.filter(name__startswith=SYNTHETIC_SITE_PREFIX, patients__isnull=False).values_list("code", flat=True).distinct())
