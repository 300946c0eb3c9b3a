"""The bulk write path of the flat format: upsert a validated flat frame into the registry.

One row of the flat format is one pain assessment timed against the patient's index procedure
(``domain/flat.py``). :func:`flat_frame_import` turns a whole frame into sites, patients, the index
procedure, its fractures and treated levels, follow-up encounters and pain assessments, in one
transaction:

- a record that does not exist yet is created and carries ``import_batch``: that batch is its creation
  audit (no per-row history row for creates, which is what makes a million rows fast);
- a record whose values differ is updated, its ``version`` grows by one and its history receives the
  new state with a reason naming the import and every ``field: old → new``; when the record had no
  history yet (it was created by an earlier import) the state before the change is written to history
  first, so old and new values both stand in the audit trail;
- a record whose values are the same is left alone: re-importing a file changes nothing.

An import never erases a value: a blank cell, or a column the file does not have, means "not given"
and keeps what the registry holds. Records are matched by natural keys: a patient by study id, the
procedure by patient and date, a fracture by procedure and level, a pain assessment by procedure and
timepoint (and date, for unscheduled ones), a follow-up through its pain assessment.

Creates are written with raw ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) on the connection of the
surrounding Django transaction, with ids reserved up front; the database CHECK constraints still
guard every value. Updates go through the ORM and django-simple-history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from ...domain.errors import DomainError
from ...domain.levels import parse_levels
from ...domain.rules import parse_flag
from ...domain.timepoints import UNSCHEDULED, derive_timepoint
from ..models import FollowUp, Fracture, ImportBatch, PainAssessment, Patient, Procedure, Site, TreatedLevel
from .flat_import_writes import BulkWriteSession, PostgresBulkLoad, fetch_frame, insert_rows, new_ids, same_values, update_with_history

#: ``progress(stage, done, total)`` is called as the import advances (for a progress bar).
Progress = Callable[[str, int, int], None]
_STAGES = ("patients", "procedures", "fractures", "assessments", "done")
_NO_LEVEL = ""  # merge key standing for "level not recorded"


@dataclass(frozen=True)
class ImportCounts:
    """What an import did.

    Attributes
    ----------
    rows_read : int
        Rows of the frame (pain assessments).
    rows_created : int
        Rows whose pain assessment was new.
    rows_updated : int
        Rows whose assessment existed and where something the row carries changed (the assessment,
        its follow-up, the patient, the procedure's fractures or treated levels).
    rows_unchanged : int
        Rows that changed nothing.
    records : mapping of str to (int, int, int)
        Per model name: records created, updated and left unchanged.
    """

    rows_read: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    records: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# Normalising the frame
# ----------------------------------------------------------------------------------------------


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Stripped text with None for blank; all None when the column is absent. String work runs once
    per distinct value (a million rows hold few)."""
    if column not in frame:
        return pd.Series(None, index=frame.index, dtype="object")
    codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    stripped = pd.Series(pd.Index(uniques).astype(str), dtype="object").str.strip()
    table = np.append(stripped.where(stripped != "", None).to_numpy(dtype="object"), None)
    return pd.Series(table[codes], index=frame.index, dtype="object")


def _dates(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values.astype("datetime64[ns]")
    text = _text(frame, column)
    return pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="raise")


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(_text(frame, column), errors="raise").astype("float64")


def _by_unique(values: pd.Series, parse: Callable[[object], object]) -> pd.Series:
    """Apply a domain parser once per distinct value (vocabularies repeat a lot)."""
    present = values.dropna()
    mapping = {value: parse(value) for value in present.unique()}
    return values.map(mapping, na_action="ignore").astype("object").where(values.notna(), None)


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame in registry terms: codes, datetime64 dates, floats, and missing for blank."""
    f = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    frame = frame.reset_index(drop=True)
    for column in ("site", "sex", "etiology", "venue", "mrn", "name", "pathologic_cause", "pathologic_basis", "instrument"):
        f[column] = _text(frame, column)
    f["study_id"] = _text(frame, "patient_id")
    f["procedure_date"] = _dates(frame, "procedure_date")
    f["birth_date"] = _dates(frame, "birth_date")
    f["age"] = _numbers(frame, "age")
    assessed_on = _dates(frame, "assessed_on")
    if "days" in frame:
        from_days = f["procedure_date"] + pd.to_timedelta(_numbers(frame, "days"), unit="D")
        assessed_on = assessed_on.fillna(from_days)
    f["assessed_on"] = assessed_on
    f["days"] = (f["assessed_on"] - f["procedure_date"]).dt.days
    timepoint = _text(frame, "timepoint")
    blank = timepoint.isna()
    if blank.any():
        derived = f.loc[blank, "days"].map({d: derive_timepoint(int(d)) for d in f.loc[blank, "days"].unique()})
        timepoint = timepoint.where(~blank, derived)
    f["timepoint"] = timepoint
    f["score"] = _numbers(frame, "vps")
    f["recurrent_pain"] = _by_unique(_text(frame, "recurrent_pain"), lambda v: parse_flag(v, field="recurrent_pain"))
    f["levels"] = _by_unique(_text(frame, "levels"), parse_levels)
    f["cement_ml"] = _numbers(frame, "cement_ml")
    if f["study_id"].isna().any() or f["procedure_date"].isna().any() or f["assessed_on"].isna().any():
        raise DomainError("patient_id", None, "every row needs patient_id, procedure_date and assessed_on (or days)")
    orphan = f["recurrent_pain"].notna() & f["venue"].isna()
    if orphan.any():
        raise DomainError("recurrent_pain", f.loc[orphan, "recurrent_pain"].iloc[0], "recurrent pain is recorded at a follow-up encounter, which needs its venue")
    f.attrs["has_instrument"] = "instrument" in frame
    return f


# ----------------------------------------------------------------------------------------------
# Reading what exists, comparing, writing
# ----------------------------------------------------------------------------------------------


def _keep_blank(new: pd.Series, old: pd.Series) -> pd.Series:
    """The file's value, or the registry's where the file is silent (imports never erase)."""
    return new.astype("object").where(new.notna(), old.astype("object"))


def _date_column(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("object").where(values.notna(), None))


# ----------------------------------------------------------------------------------------------
# One function per entity: plan (new / changed / same), then write
# ----------------------------------------------------------------------------------------------


def _old(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.add_prefix("old_")


def _sites(codes: pd.Series) -> tuple[dict[str, int], tuple[int, int, int]]:
    wanted = sorted(set(codes.dropna()))
    known = dict(fetch_frame(Site.objects.all(), "code", wanted, ["code", "id"]).itertuples(index=False, name=None))
    missing = [code for code in wanted if code not in known]
    if missing:
        Site.objects.bulk_create([Site(code=code, name=code) for code in missing])
        known.update(fetch_frame(Site.objects.all(), "code", missing, ["code", "id"]).itertuples(index=False, name=None))
    return known, (len(missing), 0, len(wanted) - len(missing))


def _patients(people: pd.DataFrame, *, batch: ImportBatch, now) -> tuple[pd.Series, pd.Series, pd.Series, tuple[int, int, int]]:  # noqa: ANN001
    """Returns, per study id, the patient pk and "changed" and "existed" flags; and the record counts."""
    columns = ["id", "study_id", "site_id", "sex", "birth_date", "age_at_index", "mrn", "name"]
    existing = _old(fetch_frame(Patient.objects.all(), "study_id", people["study_id"], columns))
    m = people.merge(existing, left_on="study_id", right_on="old_study_id", how="left")
    is_new = m["old_id"].isna().to_numpy()
    age = m["age"].round().astype("Int64")

    new = m[is_new]
    pk = pd.Series(m["old_id"].to_numpy(), index=m["study_id"]).astype("float64")
    if len(new):
        ids = new_ids(Patient, len(new))
        insert_rows(
            Patient,
            pd.DataFrame(
                {
                    "id": ids,
                    "study_id": new["study_id"].to_numpy(),
                    "site_id": new["site_id"].to_numpy(),
                    "sex": new["sex"].to_numpy(),
                    "birth_date": new["birth_date"].to_numpy(),
                    "age_at_index": age[is_new].where(new["birth_date"].isna().to_numpy()).to_numpy(),
                    "mrn": new["mrn"].to_numpy(),
                    "name": new["name"].to_numpy(),
                }
            ),
            batch=batch,
            now=now,
        )
        pk[is_new] = ids
    old = m[~is_new]
    birth = _keep_blank(old["birth_date"], _date_column(old["old_birth_date"]))
    targets = pd.DataFrame(
        {
            "id": old["old_id"].astype("int64"),
            "site_id": old["site_id"],
            "sex": old["sex"],
            "birth_date": _date_column(birth),
            "age_at_index": old["old_age_at_index"]
            .astype("Int64")
            .where(birth.notna() | age[~is_new].isna(), age[~is_new]),
            "mrn": _keep_blank(old["mrn"], old["old_mrn"]),
            "name": _keep_blank(old["name"], old["old_name"]),
        }
    )
    same = np.ones(len(old), dtype=bool)
    for column in ("site_id", "sex", "birth_date", "age_at_index", "mrn", "name"):
        previous = _date_column(old["old_birth_date"]) if column == "birth_date" else old[f"old_{column}"]
        same &= same_values(targets[column].reset_index(drop=True), previous.reset_index(drop=True))
    update_with_history(Patient, targets[~same], ["site_id", "sex", "birth_date", "age_at_index", "mrn", "name"], batch=batch, now=now)
    flags = np.zeros(len(m), dtype=bool)
    flags[np.flatnonzero(~is_new)[~same]] = True
    changed = pd.Series(flags, index=m["study_id"])
    existed = pd.Series(~is_new, index=m["study_id"])
    return pk.astype("int64"), changed, existed, (int(is_new.sum()), int((~same).sum()), int(same.sum()))


def _procedures(keys: pd.DataFrame, known_patients: list[int], *, batch: ImportBatch, now) -> tuple[pd.DataFrame, tuple[int, int, int]]:  # noqa: ANN001
    """``keys`` holds distinct (patient_pk, procedure_date); returns them with ``procedure_pk`` and ``procedure_new``."""
    existing = fetch_frame(Procedure.objects.order_by("id"), "patient_id", known_patients, ["id", "patient_id", "performed_on"])
    existing["performed_on"] = _date_column(existing["performed_on"])
    existing["patient_id"] = existing["patient_id"].astype("int64")
    existing = existing.drop_duplicates(["patient_id", "performed_on"])
    m = keys.merge(existing, left_on=["patient_pk", "procedure_date"], right_on=["patient_id", "performed_on"], how="left")
    is_new = m["id"].isna().to_numpy()
    ids = new_ids(Procedure, int(is_new.sum()))
    new = m[is_new]
    insert_rows(
        Procedure,
        pd.DataFrame({"id": ids, "patient_id": new["patient_pk"].to_numpy(), "performed_on": new["procedure_date"].to_numpy()}),
        batch=batch,
        now=now,
    )
    pk = m["id"].to_numpy(dtype="float64")
    pk[is_new] = ids
    out = keys.copy()
    out["procedure_pk"] = pk.astype("int64")
    out["procedure_new"] = is_new
    return out, (int(is_new.sum()), 0, int((~is_new).sum()))


def _fractures(per_procedure: pd.DataFrame, *, batch: ImportBatch, now) -> tuple[set[int], dict[str, tuple[int, int, int]]]:  # noqa: ANN001
    """Fractures and treated levels of each procedure; returns the procedures where something was
    created or changed, and the record counts."""
    levels = per_procedure["levels"].map(lambda lv: list(lv) if lv else [_NO_LEVEL])
    treated = per_procedure.assign(level=levels).explode("level", ignore_index=True)
    treated["cement_ml"] = treated["cement_ml"] / treated["levels"].map(lambda lv: len(lv) if lv else 1)
    pathologic = treated["etiology"] == "pathologic"

    columns = ["id", "procedure_id", "fracture_id", "cement_ml", "fracture__level", "fracture__etiology",
               "fracture__pathologic_cause", "fracture__pathologic_basis"]
    known = per_procedure.loc[~per_procedure["procedure_new"], "procedure_pk"].tolist()
    existing = fetch_frame(TreatedLevel.objects.order_by("id"), "procedure_id", known, columns)
    existing["fracture__level"] = existing["fracture__level"].fillna(_NO_LEVEL)
    existing["procedure_id"] = existing["procedure_id"].astype("int64")
    existing = _old(existing.drop_duplicates(["procedure_id", "fracture__level"]))
    m = treated.merge(existing, left_on=["procedure_pk", "level"], right_on=["old_procedure_id", "old_fracture__level"], how="left")
    is_new = m["old_id"].isna().to_numpy()
    pathologic = pathologic.to_numpy()

    def cause_or_basis(column: str) -> pd.Series:
        value = _keep_blank(m[column], m[f"old_fracture__{column}"]).fillna("unspecified")
        return value.where(pathologic, None)

    m["cause"], m["basis"] = cause_or_basis("pathologic_cause"), cause_or_basis("pathologic_basis")
    new = m[is_new]
    fracture_ids = new_ids(Fracture, len(new))
    insert_rows(
        Fracture,
        pd.DataFrame(
            {
                "id": fracture_ids,
                "patient_id": new["patient_pk"].to_numpy(),
                "level": new["level"].replace(_NO_LEVEL, None).to_numpy(),
                "etiology": new["etiology"].to_numpy(),
                "pathologic_cause": new["cause"].to_numpy(),
                "pathologic_basis": new["basis"].to_numpy(),
            }
        ),
        batch=batch,
        now=now,
    )
    insert_rows(
        TreatedLevel,
        pd.DataFrame(
            {
                "id": new_ids(TreatedLevel, len(new)),
                "procedure_id": new["procedure_pk"].to_numpy(),
                "fracture_id": fracture_ids,
                "cement_ml": new["cement_ml"].to_numpy(),
            }
        ),
        batch=batch,
        now=now,
    )
    old = m[~is_new].reset_index(drop=True)
    fracture_targets = pd.DataFrame(
        {
            "id": old["old_fracture_id"].astype("int64"),
            "etiology": old["etiology"],
            "pathologic_cause": old["cause"],
            "pathologic_basis": old["basis"],
        }
    )
    fracture_same = (
        same_values(old["etiology"], old["old_fracture__etiology"])
        & same_values(old["cause"], old["old_fracture__pathologic_cause"])
        & same_values(old["basis"], old["old_fracture__pathologic_basis"])
    )
    cement = _keep_blank(old["cement_ml"], old["old_cement_ml"]).astype("float64")
    treated_same = same_values(cement, old["old_cement_ml"].astype("float64"), tolerance=1e-9)
    update_with_history(Fracture, fracture_targets[~fracture_same], ["etiology", "pathologic_cause", "pathologic_basis"], batch=batch, now=now)
    treated_targets = pd.DataFrame({"id": old["old_id"].astype("int64"), "cement_ml": cement})
    update_with_history(TreatedLevel, treated_targets[~treated_same], ["cement_ml"], batch=batch, now=now)
    touched = set(new["procedure_pk"].tolist()) | set(old.loc[~(fracture_same & treated_same), "procedure_pk"].tolist())
    counts = {
        "fractures": (len(new), int((~fracture_same).sum()), int(fracture_same.sum())),
        "treated levels": (len(new), int((~treated_same).sum()), int(treated_same.sum())),
    }
    return touched, counts


def _assessment_key(f: pd.DataFrame, timepoint: str, assessed_on: str) -> pd.Series:
    """Scheduled timepoints are one per procedure; unscheduled ones are told apart by date."""
    unscheduled = f[timepoint] == UNSCHEDULED
    return f[timepoint].where(~unscheduled, UNSCHEDULED + "@" + f[assessed_on].dt.strftime("%Y-%m-%d").where(unscheduled, ""))


def _assessments(f: pd.DataFrame, *, batch: ImportBatch, now, has_instrument: bool) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int, int]]]:  # noqa: ANN001
    """Pain assessments and their follow-up encounters; returns per row "assessment new" and
    "assessment or follow-up changed" flags, and the record counts. Only rows of procedures that
    existed before can match a stored assessment, so only they are compared."""
    n = len(f)
    timepoint = f["timepoint"].to_numpy()
    wants_follow_up = (timepoint != "baseline") & f["venue"].notna().to_numpy() & f["recurrent_pain"].notna().to_numpy()
    instrument = f["instrument"].fillna("vps").to_numpy() if has_instrument else np.full(n, "vps", dtype="object")
    is_new = np.ones(n, dtype=bool)
    changed = np.zeros(n, dtype=bool)
    follow_up_id = np.full(n, np.nan)
    old = pd.DataFrame()
    fu_counts = (0, 0)
    known = np.flatnonzero(~f["procedure_new"].to_numpy())
    if len(known):
        old, positions, fu_counts = _stored_assessments(f.iloc[known], known, batch=batch, now=now, has_instrument=has_instrument)
        is_new[positions] = False
        follow_up_id[positions] = old["old_follow_up_id"].to_numpy(dtype="float64")
        changed[positions[old["fu_changed"].to_numpy()]] = True

    create_fu = wants_follow_up & np.isnan(follow_up_id)
    fu_rows = f[create_fu]
    fu_ids = new_ids(FollowUp, len(fu_rows))
    insert_rows(
        FollowUp,
        pd.DataFrame(
            {
                "id": fu_ids,
                "patient_id": fu_rows["patient_pk"].to_numpy(),
                "procedure_id": fu_rows["procedure_pk"].to_numpy(),
                "seen_on": fu_rows["assessed_on"].to_numpy(),
                "venue": fu_rows["venue"].to_numpy(),
                "recurrent_pain": fu_rows["recurrent_pain"].astype(bool).to_numpy(),
            }
        ),
        batch=batch,
        now=now,
    )
    follow_up_id[create_fu] = fu_ids
    changed |= create_fu & ~is_new

    new = f[is_new]
    insert_rows(
        PainAssessment,
        pd.DataFrame(
            {
                "id": new_ids(PainAssessment, len(new)),
                "patient_id": new["patient_pk"].to_numpy(),
                "procedure_id": new["procedure_pk"].to_numpy(),
                "follow_up_id": pd.array(follow_up_id[is_new], dtype="Float64").astype("Int64"),
                "assessed_on": new["assessed_on"].to_numpy(),
                "score": new["score"].to_numpy(),
                "instrument": instrument[is_new],
                "timepoint": timepoint[is_new],
                "venue": new["venue"].to_numpy(),
            }
        ),
        batch=batch,
        now=now,
    )
    updated = unchanged = 0
    if len(old):
        positions = np.flatnonzero(~is_new)
        targets = pd.DataFrame(
            {
                "id": old["old_id"].astype("int64").to_numpy(),
                "assessed_on": old["assessed_on"].to_numpy(),
                "score": old["score"].astype("float64").to_numpy(),
                "venue": _keep_blank(old["venue"], old["old_venue"]).to_numpy(),
                "instrument": (_keep_blank(old["instrument"], old["old_instrument"]) if has_instrument else old["old_instrument"]).to_numpy(),
                "follow_up_id": pd.array(follow_up_id[positions], dtype="Float64").astype("Int64"),
            }
        )
        same = (
            same_values(targets["assessed_on"], _date_column(old["old_assessed_on"]).reset_index(drop=True))
            & same_values(targets["score"], old["old_score"].astype("float64").reset_index(drop=True), tolerance=1e-12)
            & same_values(targets["venue"], old["old_venue"].reset_index(drop=True))
            & same_values(targets["instrument"], old["old_instrument"].reset_index(drop=True))
            & same_values(targets["follow_up_id"].astype("float64"), old["old_follow_up_id"].astype("float64").reset_index(drop=True), tolerance=0.0)
        )
        update_with_history(PainAssessment, targets[~same], ["assessed_on", "score", "venue", "instrument", "follow_up_id"], batch=batch, now=now)
        changed[positions[~same]] = True
        updated, unchanged = int((~same).sum()), int(same.sum())
    counts = {
        "pain assessments": (int(is_new.sum()), updated, unchanged),
        "follow-ups": (len(fu_rows), *fu_counts),
    }
    return is_new, changed, counts


def _stored_assessments(rows: pd.DataFrame, positions: np.ndarray, *, batch: ImportBatch, now, has_instrument: bool) -> tuple[pd.DataFrame, np.ndarray, tuple[int, int]]:  # noqa: ANN001
    """Match ``rows`` (of procedures that existed) to stored assessments and their follow-ups and
    update the follow-ups that changed. Returns the matched rows with the stored values
    (``old_*`` columns, ``fu_changed``), their positions in the frame, and follow-up counts
    (updated, unchanged)."""
    columns = ["id", "procedure_id", "timepoint", "assessed_on", "score", "venue", "instrument", "follow_up_id"]
    existing = fetch_frame(PainAssessment.objects.order_by("id"), "procedure_id", rows["procedure_pk"].unique().tolist(), columns)
    if existing.empty:
        return pd.DataFrame(), np.array([], dtype="int64"), (0, 0)
    existing["assessed_on"] = _date_column(existing["assessed_on"])
    existing["procedure_id"] = existing["procedure_id"].astype("int64")
    existing["key"] = _assessment_key(existing, "timepoint", "assessed_on")
    existing = _old(existing.drop_duplicates(["procedure_id", "key"]))
    keyed = rows.assign(key=_assessment_key(rows, "timepoint", "assessed_on").to_numpy(), position=positions)
    m = keyed.merge(existing, left_on=["procedure_pk", "key"], right_on=["old_procedure_id", "old_key"], how="inner")
    fu_columns = ["id", "seen_on", "venue", "recurrent_pain"]
    fu_ids = m["old_follow_up_id"].dropna().astype("int64").unique()
    fu = fetch_frame(FollowUp.objects.all(), "id", fu_ids, fu_columns).add_prefix("fu_")
    fu["fu_id"] = fu["fu_id"].astype("float64")
    m["old_follow_up_id"] = m["old_follow_up_id"].astype("float64")
    m = m.merge(fu, left_on="old_follow_up_id", right_on="fu_id", how="left").reset_index(drop=True)
    has_fu = m["fu_id"].notna().to_numpy()
    fu_old = m[has_fu].reset_index(drop=True)
    fu_targets = pd.DataFrame(
        {
            "id": fu_old["fu_id"].astype("int64"),
            "seen_on": fu_old["assessed_on"],
            "venue": _keep_blank(fu_old["venue"], fu_old["fu_venue"]),
            "recurrent_pain": _keep_blank(fu_old["recurrent_pain"], fu_old["fu_recurrent_pain"]).astype(bool),
        }
    )
    fu_same = (
        same_values(fu_targets["seen_on"], _date_column(fu_old["fu_seen_on"]))
        & same_values(fu_targets["venue"], fu_old["fu_venue"])
        & same_values(fu_targets["recurrent_pain"], fu_old["fu_recurrent_pain"].astype("object"))
    )
    update_with_history(FollowUp, fu_targets[~fu_same], ["seen_on", "venue", "recurrent_pain"], batch=batch, now=now)
    m["fu_changed"] = False
    m.loc[np.flatnonzero(has_fu)[~fu_same], "fu_changed"] = True
    m = m.sort_values("position", kind="stable").reset_index(drop=True)
    return m, m["position"].to_numpy(), (int((~fu_same).sum()), int(fu_same.sum()))


@transaction.atomic
def flat_frame_import(*, frame: pd.DataFrame, import_batch: ImportBatch, progress: Progress | None = None) -> ImportCounts:
    """Upsert a validated flat frame into the registry, in one transaction.

    Parameters
    ----------
    frame : pandas.DataFrame
        The flat format, already checked row by row and across rows (``vertebro.interop`` does it):
        ``patient_id, site, sex, age`` and/or ``birth_date, etiology, procedure_date, assessed_on``
        (or ``days``), ``timepoint`` (derived from the windows when blank), ``vps``, ``venue``,
        ``recurrent_pain``, and optionally ``levels`` (``"T12;L1"``), ``cement_ml`` (total of the
        procedure, shared equally by its levels), ``mrn``, ``name``, ``pathologic_cause``,
        ``pathologic_basis`` (``"unspecified"`` for a pathologic fracture when not given),
        ``instrument``. Codes or labels of the vocabularies are both accepted.
    import_batch : ImportBatch
        A saved batch: the creation audit of every record created. Its counts and ``finished_at`` are
        filled in; a ``running`` batch becomes ``committed``.
    progress : callable, optional
        ``progress(stage, done, total)`` for a progress bar.

    Returns
    -------
    ImportCounts
        Rows created / updated / unchanged, and per-model record counts.

    Raises
    ------
    DomainError
        When a value cannot be read (the frame was not validated); nothing is written.
    django.db.IntegrityError
        When a value breaks a database constraint; nothing is written.
    """
    report = progress or (lambda stage, done, total: None)
    report("reading", 0, len(_STAGES))
    f = _prepare(frame)
    has_instrument = f.attrs.get("has_instrument", False)
    now = timezone.now()
    records: dict[str, tuple[int, int, int]] = {}
    tables = [Patient, Procedure, Fracture, TreatedLevel, FollowUp, PainAssessment]
    with BulkWriteSession(tables), PostgresBulkLoad(tables, len(f)):
        counts = _upsert(f, import_batch=import_batch, now=now, has_instrument=has_instrument, report=report, records=records)
    import_batch.rows_read = counts.rows_read
    import_batch.rows_created, import_batch.rows_updated = counts.rows_created, counts.rows_updated
    import_batch.rows_unchanged = counts.rows_unchanged
    import_batch.finished_at = timezone.now()
    if import_batch.status == "running":
        import_batch.status = "committed"
    import_batch.save()
    report("done", len(_STAGES), len(_STAGES))
    return counts


def _upsert(f: pd.DataFrame, *, import_batch: ImportBatch, now, has_instrument: bool, report: Progress, records: dict) -> ImportCounts:  # noqa: ANN001
    stages = _STAGES
    people = f.drop_duplicates("study_id")
    site_ids, records["sites"] = _sites(people["site"])
    people = people.assign(site_id=people["site"].map(site_ids)).reset_index(drop=True)
    patient_pk, patient_changed, existed, records["patients"] = _patients(people, batch=import_batch, now=now)
    f["patient_pk"] = f["study_id"].map(patient_pk).astype("int64")
    report("patients", 1, len(stages))

    keys = f[["patient_pk", "procedure_date"]].drop_duplicates()
    known_patients = patient_pk[existed.to_numpy()].tolist()
    procedures, records["procedures"] = _procedures(keys, known_patients, batch=import_batch, now=now)
    matched = f[["patient_pk", "procedure_date"]].merge(procedures, on=["patient_pk", "procedure_date"], how="left")
    f["procedure_pk"] = matched["procedure_pk"].to_numpy()
    f["procedure_new"] = matched["procedure_new"].to_numpy(dtype=bool)
    report("procedures", 2, len(stages))

    per_procedure = f.drop_duplicates("procedure_pk")[
        ["procedure_pk", "patient_pk", "procedure_new", "etiology", "pathologic_cause", "pathologic_basis", "levels", "cement_ml"]
    ]
    touched, fracture_counts = _fractures(per_procedure.reset_index(drop=True), batch=import_batch, now=now)
    records.update(fracture_counts)
    report("fractures", 3, len(stages))

    pain_new, pain_changed, pain_counts = _assessments(f, batch=import_batch, now=now, has_instrument=has_instrument)
    records.update(pain_counts)
    changed = pain_changed | f["study_id"].map(patient_changed).to_numpy(dtype=bool) | f["procedure_pk"].isin(touched).to_numpy()
    created = int(pain_new.sum())
    updated = int((changed & ~pain_new).sum())
    return ImportCounts(
        rows_read=len(f), rows_created=created, rows_updated=updated, rows_unchanged=len(f) - created - updated, records=records
    )
