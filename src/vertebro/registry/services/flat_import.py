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

The frame is turned into one array per column, string work running once per distinct value
(:mod:`.flat_import_frame`). Creates are written column by column
(:func:`.flat_import_writes.insert_rows`: a staged ``INSERT … SELECT`` on SQLite, a binary ``COPY`` on
PostgreSQL) on the connection of the surrounding Django transaction, with ids reserved up front and in
the order of the tables' indexes; the database CHECK constraints, keys and indexes still guard every
value. Updates go through the ORM and django-simple-history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from ...domain.errors import DomainError
from ...domain.timepoints import UNSCHEDULED
from ..models import FollowUp, Fracture, ImportBatch, PainAssessment, Patient, Procedure, Site, TreatedLevel
from ..selectors.flat_conflicts import flat_registry_conflicts
from .flat_import_frame import date_column, first_rows, keep_blank, nullable_ids, prefixed_old, prepare_frame, present
from .flat_import_writes import BulkWriteSession, PostgresBulkLoad, fetch_frame, insert_rows, new_ids, same_values, update_with_history
from .imports import import_batch_finish

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
    changed_fields : dict
        ``"patient.sex"`` → how many records had that field changed (every change is in the history).
    """

    rows_read: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    records: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    changed_fields: Mapping[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# One function per entity: plan (new / changed / same), then write
# ----------------------------------------------------------------------------------------------


def _sites(codes: pd.Series) -> tuple[dict[str, int], tuple[int, int, int]]:
    wanted = sorted(set(codes.dropna()))
    known = dict(fetch_frame(Site.objects.all(), "code", wanted, ["code", "id"]).itertuples(index=False, name=None))
    missing = [code for code in wanted if code not in known]
    if missing:
        Site.objects.bulk_create([Site(code=code, name=code) for code in missing])
        known.update(fetch_frame(Site.objects.all(), "code", missing, ["code", "id"]).itertuples(index=False, name=None))
    return known, (len(missing), 0, len(wanted) - len(missing))


def _patients(people: pd.DataFrame, *, batch: ImportBatch, now, changes: Counter) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int, int]]:  # noqa: ANN001
    """``people`` holds one row per study id. Returns, aligned with it, the patient pk and
    "changed" and "existed" flags; and the record counts."""
    columns = ["id", "study_id", "site_id", "sex", "birth_date", "age_at_index", "mrn", "name"]
    existing = prefixed_old(fetch_frame(Patient.objects.all(), "study_id", people["study_id"], columns))
    m = people.merge(existing, left_on="study_id", right_on="old_study_id", how="left")
    is_new = m["old_id"].isna().to_numpy()
    age = m["age"].round().astype("Int64")

    new = m[is_new]
    pk = m["old_id"].to_numpy(dtype="float64")
    if len(new):
        ids = new_ids(Patient, len(new))
        insert_rows(
            Patient,
            {
                "id": ids,
                "study_id": new["study_id"].to_numpy(),
                "site_id": new["site_id"].to_numpy(),
                "sex": new["sex"].to_numpy(),
                "birth_date": new["birth_date"].to_numpy(),
                "age_at_index": age[is_new].where(new["birth_date"].isna().to_numpy()).array,
                "mrn": new["mrn"].to_numpy(),
                "name": new["name"].to_numpy(),
            },
            batch=batch,
            now=now,
        )
        pk[is_new] = ids
    old = m[~is_new]
    recorded_birth = date_column(old["old_birth_date"])
    birth = keep_blank(old["birth_date"], recorded_birth)
    # A birth date that arrives (or changes) replaces the recorded age, as for a patient created with
    # one: the age then follows from it. Otherwise a stated age updates the recorded one.
    arriving = (pd.to_datetime(old["birth_date"]).notna() & (pd.to_datetime(old["birth_date"]) != recorded_birth)).to_numpy()
    recorded_age = old["old_age_at_index"].astype("Int64")
    targets = pd.DataFrame(
        {
            "id": old["old_id"].astype("int64"),
            "site_id": old["site_id"],
            "sex": old["sex"],
            "birth_date": date_column(birth),
            "age_at_index": recorded_age.where(birth.notna() | age[~is_new].isna(), age[~is_new]).mask(arriving),
            "mrn": keep_blank(old["mrn"], old["old_mrn"]),
            "name": keep_blank(old["name"], old["old_name"]),
        }
    )
    same = np.ones(len(old), dtype=bool)
    for column in ("site_id", "sex", "birth_date", "age_at_index", "mrn", "name"):
        previous = date_column(old["old_birth_date"]) if column == "birth_date" else old[f"old_{column}"]
        same &= same_values(targets[column].reset_index(drop=True), previous.reset_index(drop=True))
    update_with_history(Patient, targets[~same], ["site_id", "sex", "birth_date", "age_at_index", "mrn", "name"], batch=batch, now=now, changes=changes)
    changed = np.zeros(len(m), dtype=bool)
    changed[np.flatnonzero(~is_new)[~same]] = True
    return pk.astype("int64"), changed, ~is_new, (int(is_new.sum()), int((~same).sum()), int(same.sum()))


def _procedures(keys: pd.DataFrame, known_patients: list[int], *, batch: ImportBatch, now) -> tuple[pd.DataFrame, tuple[int, int, int]]:  # noqa: ANN001
    """``keys`` holds distinct (patient_pk, procedure_date); returns them with ``procedure_pk`` and ``procedure_new``."""
    existing = fetch_frame(Procedure.objects.order_by("id"), "patient_id", known_patients, ["id", "patient_id", "performed_on"])
    existing["performed_on"] = date_column(existing["performed_on"])
    existing["patient_id"] = existing["patient_id"].astype("int64")
    existing = existing.drop_duplicates(["patient_id", "performed_on"])
    m = keys.merge(existing, left_on=["patient_pk", "procedure_date"], right_on=["patient_id", "performed_on"], how="left")
    is_new = m["id"].isna().to_numpy()
    ids = new_ids(Procedure, int(is_new.sum()))
    new = m[is_new]
    insert_rows(Procedure, {"id": ids, "patient_id": new["patient_pk"].to_numpy(), "performed_on": new["procedure_date"].to_numpy()}, batch=batch, now=now)
    pk = m["id"].to_numpy(dtype="float64")
    pk[is_new] = ids
    out = keys.copy()
    out["procedure_pk"] = pk.astype("int64")
    out["procedure_new"] = is_new
    return out, (int(is_new.sum()), 0, int((~is_new).sum()))


def _fractures(per_procedure: pd.DataFrame, *, batch: ImportBatch, now, changes: Counter) -> tuple[set[int], dict[str, tuple[int, int, int]]]:  # noqa: ANN001
    """Fractures and treated levels of each procedure; returns the procedures where something was
    created or changed, and the record counts. For a procedure the registry holds, see
    :func:`_as_recorded`; a new one whose levels the file leaves blank gets a fracture whose level is
    not recorded."""
    columns = ["id", "procedure_id", "fracture_id", "cement_ml", "fracture__level", "fracture__etiology",
               "fracture__pathologic_cause", "fracture__pathologic_basis"]
    known = per_procedure.loc[~per_procedure["procedure_new"], "procedure_pk"].tolist()
    existing = fetch_frame(TreatedLevel.objects.order_by("id"), "procedure_id", known, columns)
    existing["fracture__level"] = existing["fracture__level"].fillna(_NO_LEVEL)
    existing["procedure_id"] = existing["procedure_id"].astype("int64")
    existing = existing.drop_duplicates(["procedure_id", "fracture__level"])

    codes, distinct = pd.factorize(per_procedure["levels"], use_na_sentinel=True)
    level_lists = [list(levels) if levels else [_NO_LEVEL] for levels in distinct] + [[_NO_LEVEL]]
    row_levels = [level_lists[code] for code in codes]
    if len(existing):
        per_procedure, row_levels = _as_recorded(per_procedure, row_levels, existing=existing)
    per_row = np.array([len(levels) for levels in row_levels], dtype="int64")
    treated = per_procedure.iloc[np.repeat(np.arange(len(per_procedure)), per_row)].reset_index(drop=True)
    treated["level"] = np.array([level for levels in row_levels for level in levels], dtype="object")
    treated["cement_ml"] = treated["cement_ml"] / np.repeat(per_row, per_row)
    existing = prefixed_old(existing)
    m = treated.merge(existing, left_on=["procedure_pk", "level"], right_on=["old_procedure_id", "old_fracture__level"], how="left")
    is_new = m["old_id"].isna().to_numpy()
    m["etiology"] = keep_blank(m["etiology"], m["old_fracture__etiology"])  # a blank keeps each fracture's own
    pathologic = (m["etiology"] == "pathologic").to_numpy()

    def cause_or_basis(column: str) -> pd.Series:
        value = keep_blank(m[column], m[f"old_fracture__{column}"]).fillna("unspecified")
        return value.where(pathologic, None)

    m["cause"], m["basis"] = cause_or_basis("pathologic_cause"), cause_or_basis("pathologic_basis")
    new = m[is_new]
    fracture_ids = new_ids(Fracture, len(new))
    level = new["level"].to_numpy(dtype="object")
    insert_rows(
        Fracture,
        {
            "id": fracture_ids,
            "patient_id": new["patient_pk"].to_numpy(),
            "level": np.where(level == _NO_LEVEL, None, level),
            "etiology": new["etiology"].to_numpy(),
            "pathologic_cause": new["cause"].to_numpy(),
            "pathologic_basis": new["basis"].to_numpy(),
        },
        batch=batch,
        now=now,
    )
    insert_rows(
        TreatedLevel,
        {"id": new_ids(TreatedLevel, len(new)), "procedure_id": new["procedure_pk"].to_numpy(), "fracture_id": fracture_ids, "cement_ml": new["cement_ml"].to_numpy()},
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
    cement = keep_blank(old["cement_ml"], old["old_cement_ml"]).astype("float64")
    treated_same = same_values(cement, old["old_cement_ml"].astype("float64"), tolerance=1e-9)
    update_with_history(Fracture, fracture_targets[~fracture_same], ["etiology", "pathologic_cause", "pathologic_basis"], batch=batch, now=now, changes=changes)
    treated_targets = pd.DataFrame({"id": old["old_id"].astype("int64"), "cement_ml": cement})
    update_with_history(TreatedLevel, treated_targets[~treated_same], ["cement_ml"], batch=batch, now=now, changes=changes)
    touched = set(new["procedure_pk"].tolist()) | set(old.loc[~(fracture_same & treated_same), "procedure_pk"].tolist())
    counts = {
        "fractures": (len(new), int((~fracture_same).sum()), int(fracture_same.sum())),
        "treated levels": (len(new), int((~treated_same).sum()), int(treated_same.sum())),
    }
    return touched, counts


def _as_recorded(per_procedure: pd.DataFrame, row_levels: list[list[str]], *, existing: pd.DataFrame) -> tuple[pd.DataFrame, list[list[str]]]:
    """What a file says about procedures the registry holds, as the changes it really asks for.

    The flat format has one etiology, one cause and basis and one cement total per procedure, written
    by the export as a summary of its fractures (:func:`~vertebro.registry.selectors.flat.procedure_etiology`,
    the first pathologic fracture's cause and basis, the sum of the volumes). Each is compared on its
    own: one that repeats the summary becomes blank, so each fracture keeps its own value (any export
    re-imported changes nothing); a different etiology is applied to every fracture of the procedure,
    a different cause or basis to its pathologic fractures only, and a different cement total is
    shared equally by all its levels. The file's levels stand for all the procedure's recorded
    fractures, those whose level is not recorded included (they are never written in a file), so a
    blank levels cell and the named levels mean the same set."""
    from ..selectors.flat import procedure_etiology

    per_procedure = per_procedure.copy()
    row_levels = list(row_levels)
    by_procedure = existing.groupby("procedure_id", sort=False)
    recorded = by_procedure["fracture__level"].agg(list)
    summary = pd.DataFrame({
        "etiology": by_procedure["fracture__etiology"].agg(procedure_etiology),
        "cement": pd.to_numeric(existing["cement_ml"], errors="coerce").groupby(existing["procedure_id"]).sum(min_count=1),
    })
    first_pathologic = existing[existing["fracture__etiology"] == "pathologic"].drop_duplicates("procedure_id").set_index("procedure_id")
    summary["cause"] = first_pathologic["fracture__pathologic_cause"].reindex(summary.index)
    summary["basis"] = first_pathologic["fracture__pathologic_basis"].reindex(summary.index)
    pk = per_procedure["procedure_pk"].to_numpy()
    held = np.flatnonzero(pd.Index(summary.index).get_indexer(pk) >= 0)
    stored = summary.loc[pk[held]]
    for i in held:  # the named levels equal the recorded ones (flat_conflicts refuses any other)
        row_levels[i] = recorded[pk[i]]
    rows = per_procedure.iloc[held]

    def same(column: str, recorded_column: str, *, blank_matches: bool) -> np.ndarray:
        given = rows[column].astype("object").to_numpy()
        old = stored[recorded_column].astype("object").to_numpy()
        missing = pd.isna(given)
        equal = np.array([a == b for a, b in zip(given, old)], dtype=bool) | (missing & pd.isna(old))
        return equal | missing if blank_matches else equal

    for column, recorded_column in (("etiology", "etiology"), ("pathologic_cause", "cause"), ("pathologic_basis", "basis")):
        values = per_procedure[column].astype("object").to_numpy(copy=True)
        values[held[same(column, recorded_column, blank_matches=column != "etiology")]] = None
        per_procedure[column] = values
    cement = per_procedure["cement_ml"].to_numpy(dtype="float64", copy=True)
    total = stored["cement"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        cement[held[np.isclose(cement[held], total, rtol=1e-9, atol=0.0)]] = np.nan
    per_procedure["cement_ml"] = cement
    return per_procedure, row_levels


def _assessment_key(f: pd.DataFrame, timepoint: str, assessed_on: str) -> pd.Series:
    """Scheduled timepoints are one per procedure; unscheduled ones are told apart by date."""
    unscheduled = f[timepoint] == UNSCHEDULED
    if not unscheduled.any():
        return f[timepoint]
    dated = UNSCHEDULED + "@" + f.loc[unscheduled, assessed_on].dt.strftime("%Y-%m-%d")
    return f[timepoint].where(~unscheduled, dated)


def _insertion_order(procedure_pk: np.ndarray, assessed_on: np.ndarray) -> np.ndarray:
    """Rows by procedure, then date: created assessments and follow-ups then take ids in the order
    of every index on them, so the database appends to its indexes instead of seeking (a file
    already in that order, the usual export, costs one comparison per row)."""
    day = assessed_on.astype("datetime64[D]").astype("int64")
    key = procedure_pk * (1 << 24) + (day - day.min(initial=0))
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return np.arange(len(key))
    return np.argsort(key, kind="stable")


def _assessments(r: dict[str, np.ndarray], *, patient_pk: np.ndarray, procedure_pk: np.ndarray, procedure_new: np.ndarray, batch: ImportBatch, now, changes: Counter) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int, int]]]:  # noqa: ANN001
    """Pain assessments and their follow-up encounters; returns per row "assessment new" and
    "assessment or follow-up changed" flags, and the record counts. Only rows of procedures that
    existed before can match a stored assessment, so only they are compared."""
    n = len(patient_pk)
    timepoint, venue, recurrent = r["timepoint"], r["venue"], r["recurrent_pain"]
    wants_follow_up = (timepoint != "baseline") & present(venue) & present(recurrent)
    has_instrument = r["instrument"] is not None
    is_new = np.ones(n, dtype=bool)
    changed = np.zeros(n, dtype=bool)
    follow_up_id = np.full(n, np.nan)
    old = pd.DataFrame()
    fu_counts = (0, 0)
    known = np.flatnonzero(~procedure_new)
    if len(known):
        rows = pd.DataFrame({"procedure_pk": procedure_pk[known], **{c: r[c][known] for c in ("timepoint", "assessed_on", "score", "venue", "recurrent_pain")}})
        if has_instrument:
            rows["instrument"] = r["instrument"][known]
        old, positions, fu_counts = _stored_assessments(rows, known, batch=batch, now=now, changes=changes, has_instrument=has_instrument)
        if len(old):  # none when the procedures that existed have no score yet (entered in the app)
            is_new[positions] = False
            follow_up_id[positions] = old["old_follow_up_id"].to_numpy(dtype="float64")
            changed[positions[old["fu_changed"].to_numpy()]] = True

    order = _insertion_order(procedure_pk, r["assessed_on"])
    create_fu = wants_follow_up & np.isnan(follow_up_id)
    fu_rows = order[create_fu[order]]
    fu_ids = new_ids(FollowUp, len(fu_rows))
    insert_rows(
        FollowUp,
        {
            "id": fu_ids,
            "patient_id": patient_pk[fu_rows],
            "procedure_id": procedure_pk[fu_rows],
            "seen_on": r["assessed_on"][fu_rows],
            "venue": venue[fu_rows],
            "recurrent_pain": recurrent[fu_rows].astype(bool),
        },
        batch=batch,
        now=now,
    )
    follow_up_id[fu_rows] = fu_ids
    changed |= create_fu & ~is_new

    new = order[is_new[order]]
    instrument = r["instrument"]
    if has_instrument:
        instrument = np.where(present(instrument[new]), instrument[new], "vps").astype("object")
    insert_rows(
        PainAssessment,
        {
            "id": new_ids(PainAssessment, len(new)),
            "patient_id": patient_pk[new],
            "procedure_id": procedure_pk[new],
            "follow_up_id": nullable_ids(follow_up_id[new]),
            "assessed_on": r["assessed_on"][new],
            "score": r["score"][new],
            **({"instrument": instrument} if has_instrument else {}),
            "timepoint": timepoint[new],
            "venue": venue[new],
            "source": _sources(r["source"], new, batch=batch),
        },
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
                "venue": keep_blank(old["venue"], old["old_venue"]).to_numpy(),
                "instrument": (keep_blank(old["instrument"], old["old_instrument"]) if has_instrument else old["old_instrument"]).to_numpy(),
                "follow_up_id": nullable_ids(follow_up_id[positions]),
            }
        )
        same = (
            same_values(targets["assessed_on"], date_column(old["old_assessed_on"]).reset_index(drop=True))
            & same_values(targets["score"], old["old_score"].astype("float64").reset_index(drop=True), tolerance=1e-12)
            & same_values(targets["venue"], old["old_venue"].reset_index(drop=True))
            & same_values(targets["instrument"], old["old_instrument"].reset_index(drop=True))
            & same_values(targets["follow_up_id"].astype("float64"), old["old_follow_up_id"].astype("float64").reset_index(drop=True), tolerance=0.0)
        )
        update_with_history(PainAssessment, targets[~same], ["assessed_on", "score", "venue", "instrument", "follow_up_id"], batch=batch, now=now, changes=changes)
        changed[positions[~same]] = True
        updated, unchanged = int((~same).sum()), int(same.sum())
    counts = {
        "pain assessments": (int(is_new.sum()), updated, unchanged),
        "follow-ups": (len(fu_rows), *fu_counts),
    }
    return is_new, changed, counts


def _sources(given: np.ndarray | None, rows: np.ndarray, *, batch: ImportBatch) -> np.ndarray:
    """Who put each created score in (issue 9): the file's ``source`` column where it says, else the
    importer itself (``fhir`` for a FHIR bundle, ``import`` for any other file). A stored score keeps its
    source: a re-import changes values, never who first entered them."""
    default = "fhir" if batch.file_format == "fhir" else "import"
    if given is None:
        return np.full(len(rows), default, dtype=object)
    chosen = given[rows]
    return np.where(present(chosen), chosen, default).astype(object)


def _stored_assessments(rows: pd.DataFrame, positions: np.ndarray, *, batch: ImportBatch, now, changes: Counter, has_instrument: bool) -> tuple[pd.DataFrame, np.ndarray, tuple[int, int]]:  # noqa: ANN001
    """Match ``rows`` (of procedures that existed) to stored assessments and their follow-ups and
    update the follow-ups that changed. Returns the matched rows with the stored values
    (``old_*`` columns, ``fu_changed``), their positions in the frame, and follow-up counts
    (updated, unchanged)."""
    columns = ["id", "procedure_id", "timepoint", "assessed_on", "score", "venue", "instrument", "follow_up_id"]
    existing = fetch_frame(PainAssessment.objects.order_by("id"), "procedure_id", rows["procedure_pk"].unique().tolist(), columns)
    if existing.empty:
        return pd.DataFrame(), np.array([], dtype="int64"), (0, 0)
    existing["assessed_on"] = date_column(existing["assessed_on"])
    existing["procedure_id"] = existing["procedure_id"].astype("int64")
    existing["key"] = _assessment_key(existing, "timepoint", "assessed_on")
    existing = prefixed_old(existing.drop_duplicates(["procedure_id", "key"]))
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
            "venue": keep_blank(fu_old["venue"], fu_old["fu_venue"]),
            "recurrent_pain": keep_blank(fu_old["recurrent_pain"], fu_old["fu_recurrent_pain"]).astype(bool),
        }
    )
    fu_same = (
        same_values(fu_targets["seen_on"], date_column(fu_old["fu_seen_on"]))
        & same_values(fu_targets["venue"], fu_old["fu_venue"])
        & same_values(fu_targets["recurrent_pain"], fu_old["fu_recurrent_pain"].astype("object"))
    )
    update_with_history(FollowUp, fu_targets[~fu_same], ["seen_on", "venue", "recurrent_pain"], batch=batch, now=now, changes=changes)
    m["fu_changed"] = False
    m.loc[np.flatnonzero(has_fu)[~fu_same], "fu_changed"] = True
    m = m.sort_values("position", kind="stable").reset_index(drop=True)
    return m, m["position"].to_numpy(), (int((~fu_same).sum()), int(fu_same.sum()))


@transaction.atomic
def flat_frame_import(
    *,
    frame: pd.DataFrame,
    import_batch: ImportBatch,
    progress: Progress | None = None,
    conflicts_checked: bool = False,
    rows_read: int | None = None,
    rows_skipped: int = 0,
) -> ImportCounts:
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
        A saved batch: the creation audit of every record created. A ``running`` batch is completed
        as ``committed`` with its counts, in the same transaction as the records.
    progress : callable, optional
        ``progress(stage, done, total)`` for a progress bar.
    conflicts_checked : bool
        The caller has already refused the rows that contradict the registry
        (:func:`vertebro.registry.selectors.flat_conflicts.flat_registry_conflicts`, as the importer
        does, to report them line by line); otherwise they are looked for here.
    rows_read, rows_skipped : int
        What the batch records when the caller read more rows than ``frame`` holds (rows it skipped);
        by default the frame's rows, none skipped.

    Returns
    -------
    ImportCounts
        Rows created / updated / unchanged, and per-model record counts.

    Raises
    ------
    DomainError
        When a value cannot be read (the frame was not validated), or a row contradicts what the
        registry holds about its patient (site, procedure date, levels, age); nothing is written.
    django.db.IntegrityError
        When a value breaks a database constraint; nothing is written.
    """
    report = progress or (lambda stage, done, total: None)
    report("reading", 0, len(_STAGES))
    if not conflicts_checked:
        conflicts = flat_registry_conflicts(frame)
        if len(conflicts):
            first = conflicts.iloc[0]
            raise DomainError(first["column"], first["value"], f"line {first['line']}: {first['rule']}")
    r, patients, study_ids = prepare_frame(frame)
    now = timezone.now()
    records: dict[str, tuple[int, int, int]] = {}
    tables = [Patient, Procedure, Fracture, TreatedLevel, FollowUp, PainAssessment]
    with BulkWriteSession(tables), PostgresBulkLoad(tables, len(patients)):
        counts = _upsert(r, patients, study_ids, import_batch=import_batch, now=now, report=report, records=records)
    if import_batch.status == "running":
        import_batch_finish(
            batch=import_batch, status="committed", rows_read=counts.rows_read if rows_read is None else rows_read,
            rows_skipped=rows_skipped, rows_created=counts.rows_created, rows_updated=counts.rows_updated,
            rows_unchanged=counts.rows_unchanged,
        )
    report("done", len(_STAGES), len(_STAGES))
    return counts


def _upsert(r: dict[str, np.ndarray], patients: np.ndarray, study_ids: np.ndarray, *, import_batch: ImportBatch, now, report: Progress, records: dict) -> ImportCounts:  # noqa: ANN001
    stages = _STAGES
    changes: Counter = Counter()  # "<record>.<field>" -> records whose field this import changed
    first = first_rows(patients)
    people = pd.DataFrame({"study_id": study_ids, **{c: r[c][first] for c in ("site", "sex", "birth_date", "age", "mrn", "name")}})
    site_ids, records["sites"] = _sites(people["site"])
    people["site_id"] = people["site"].map(site_ids)
    pk, patient_changed, existed, records["patients"] = _patients(people, batch=import_batch, now=now, changes=changes)
    patient_pk = pk[patients]
    report("patients", 1, len(stages))

    day = r["procedure_date"].astype("datetime64[D]").astype("int64")
    procedure_codes = pd.factorize(patients * (int(day.max()) - int(day.min()) + 1) + (day - day.min()))[0]
    first = first_rows(procedure_codes)
    keys = pd.DataFrame({"patient_pk": patient_pk[first], "procedure_date": r["procedure_date"][first]})
    procedures, records["procedures"] = _procedures(keys, pk[existed].tolist(), batch=import_batch, now=now)
    procedure_pk = procedures["procedure_pk"].to_numpy()[procedure_codes]
    procedure_new = procedures["procedure_new"].to_numpy(dtype=bool)[procedure_codes]
    report("procedures", 2, len(stages))

    per_procedure = pd.DataFrame(
        {
            "procedure_pk": procedures["procedure_pk"].to_numpy(),
            "patient_pk": keys["patient_pk"].to_numpy(),
            "procedure_new": procedures["procedure_new"].to_numpy(dtype=bool),
            **{c: r[c][first] for c in ("etiology", "pathologic_cause", "pathologic_basis", "levels", "cement_ml")},
        }
    )
    touched, fracture_counts = _fractures(per_procedure, batch=import_batch, now=now, changes=changes)
    records.update(fracture_counts)
    report("fractures", 3, len(stages))

    pain_new, pain_changed, pain_counts = _assessments(r, patient_pk=patient_pk, procedure_pk=procedure_pk, procedure_new=procedure_new, batch=import_batch, now=now, changes=changes)
    records.update(pain_counts)
    report("assessments", 4, len(stages))
    procedure_touched = per_procedure["procedure_pk"].isin(touched).to_numpy()
    changed = pain_changed | patient_changed[patients] | procedure_touched[procedure_codes]
    created = int(pain_new.sum())
    updated = int((changed & ~pain_new).sum())
    return ImportCounts(
        rows_read=len(patients), rows_created=created, rows_updated=updated, rows_unchanged=len(patients) - created - updated, records=records,
        changed_fields=dict(sorted(changes.items())),
    )
