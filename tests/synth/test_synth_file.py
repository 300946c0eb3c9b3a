"""The written file: flat format, values inside the domain's rules, determinism, plausibility."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
from synth_helpers import SEEDS, read_flat, with_improvement

from vertebro.domain.errors import DomainError
from vertebro.domain.flat import FLAT_COLUMNS, FLAT_OPTIONAL_COLUMNS
from vertebro.domain.levels import TYPICAL_RANGE, level_index, parse_levels
from vertebro.domain.rules import CEMENT_ML_MAX
from vertebro.domain.timepoints import BY_CODE, SCHEDULE, schedule_order
from vertebro.domain.vocabulary import VENUE
from vertebro.stats.validate import load_flat_csv
from vertebro.synth import CohortParameters, ProcedureModel, iter_cohort_csv, site_codes, write_cohort


def test_header_is_the_flat_format_then_the_optional_columns(cohort_file):
    with open(cohort_file(300, 2012), encoding="ascii") as handle:
        header = handle.readline().rstrip("\n").split(",")
    assert tuple(header) == FLAT_COLUMNS + FLAT_OPTIONAL_COLUMNS


@pytest.mark.parametrize("seed", SEEDS)
def test_scores_are_whole_numbers_from_0_to_10(cohort, seed):
    vps = cohort(300, seed)["vps"]
    assert pd.api.types.is_integer_dtype(vps)
    assert vps.between(0, 10).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_every_assessment_lies_in_its_timepoint_window(cohort, seed):
    df = cohort(300, seed)
    assert set(df["timepoint"]) == {tp.code for tp in SCHEDULE}
    for code, rows in df.groupby("timepoint"):
        window = BY_CODE[code]
        assert rows["days"].between(window.first_day, window.last_day).all(), code


@pytest.mark.parametrize("seed", SEEDS)
def test_rows_are_one_per_patient_and_timepoint_in_schedule_order(cohort, seed):
    df = cohort(300, seed)
    assert not df.duplicated(["patient_id", "timepoint"]).any()
    order = df["timepoint"].map(schedule_order)
    same_patient = df["patient_id"].eq(df["patient_id"].shift())
    assert (order.diff()[same_patient] > 0).all()
    assert (df.groupby("patient_id")["timepoint"].first() == "baseline").all()


@pytest.mark.parametrize("seed", SEEDS)
def test_recurrent_pain_is_empty_exactly_on_baseline_rows(cohort, seed):
    df = cohort(300, seed)
    baseline = df["timepoint"] == "baseline"
    assert df.loc[baseline, "recurrent_pain"].isna().all()
    assert df.loc[~baseline, "recurrent_pain"].notna().all()
    assert set(df.loc[~baseline, "recurrent_pain"].unique()) == {0, 1}
    assert (df.loc[df["timepoint"] == "post", "recurrent_pain"] == 0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_assessed_on_is_the_procedure_date_plus_days(cohort, seed):
    df = cohort(300, seed)
    procedure = pd.to_datetime(df["procedure_date"])
    assert (pd.to_datetime(df["assessed_on"]) - procedure == pd.to_timedelta(df["days"], unit="D")).all()
    span = ProcedureModel()
    assert procedure.between(pd.Timestamp(span.first_date), pd.Timestamp(span.last_date)).all()
    assert procedure.dt.year.nunique() == 4  # spread over the span, not one day


@pytest.mark.parametrize("seed", SEEDS)
def test_identifiers_sites_and_venues_use_the_vocabularies(cohort, seed):
    df = cohort(300, seed)
    assert df["patient_id"].drop_duplicates().tolist() == [f"VP{i:06d}" for i in range(1, 301)]
    assert set(df["site"]) == {"SITE-A"}
    assert set(df["venue"]) <= set(VENUE.codes)
    assert (df.loc[df["timepoint"].isin(["baseline", "post"]), "venue"] == "neurointerventional_clinic").all()
    clinic = df.loc[~df["timepoint"].isin(["baseline", "post"])]
    assert set(clinic["venue"]) == {"neurointerventional_clinic", "primary_care", "pain_clinic"}
    # The pain management clinic sees the patients with recurrent back pain (seed abstract).
    assert (clinic.loc[clinic["venue"] == "pain_clinic", "recurrent_pain"] == 1).all()
    assert (clinic.loc[clinic["recurrent_pain"] == 1, "venue"] == "pain_clinic").mean() > 0.6


@pytest.mark.parametrize("seed", SEEDS)
def test_levels_are_one_to_three_mostly_t5_to_l5_with_plausible_cement(cohort, seed):
    people = cohort(300, seed).drop_duplicates("patient_id")
    low, high = (level_index(level) for level in TYPICAL_RANGE)
    typical = 0
    for text, cement in zip(people["levels"], people["cement_ml"]):
        levels = parse_levels(text)
        assert text == ";".join(levels)  # written craniocaudally, as the domain normalises it
        assert 1 <= len(levels) <= 3
        typical += all(low <= level_index(level) <= high for level in levels)
        assert 1.0 <= cement / len(levels) <= 8.0 <= CEMENT_ML_MAX
    assert typical / len(people) >= 0.95
    counts = people["levels"].str.count(";") + 1
    assert (counts == 1).mean() > 0.5 and (counts > 1).any()


def test_attendance_declines_over_follow_up(cohort):
    df = cohort(5000, 3)
    seen = df.groupby("timepoint")["patient_id"].nunique().reindex([tp.code for tp in SCHEDULE])
    assert seen["baseline"] == seen["post"] == 5000
    assert seen.iloc[1:].is_monotonic_decreasing and seen["12m"] < 0.75 * 5000
    by_group = df.groupby(["timepoint", "etiology"])["patient_id"].nunique().unstack()
    share = by_group / by_group.loc["baseline"]
    assert share.loc["12m", "pathologic"] < share.loc["12m", "osteoporotic"]


def test_recurrent_pain_usually_persists_and_pain_rises_with_it(cohort):
    df = with_improvement(cohort(5000, 3))
    clinic = df.loc[~df["timepoint"].isin(["baseline"])].copy()
    clinic["next_recurrent"] = clinic.groupby("patient_id")["recurrent_pain"].shift(-1)
    clinic["previous_recurrent"] = clinic.groupby("patient_id")["recurrent_pain"].shift(1)
    clinic["previous_vps"] = clinic.groupby("patient_id")["vps"].shift(1)
    after_recurrence = clinic.loc[(clinic["recurrent_pain"] == 1) & clinic["next_recurrent"].notna(), "next_recurrent"]
    assert after_recurrence.mean() > 0.6
    onset = clinic.loc[(clinic["recurrent_pain"] == 1) & (clinic["previous_recurrent"] == 0)]
    assert (onset["vps"] - onset["previous_vps"]).mean() > 1.0
    assert clinic.loc[clinic["recurrent_pain"] == 1, "vps"].mean() > clinic.loc[clinic["recurrent_pain"] == 0, "vps"].mean() + 1.5


def test_the_file_passes_the_analysis_input_checks(cohort_file):
    df = load_flat_csv(cohort_file(300, 2012))
    assert len(df) > 300


def test_same_seed_gives_the_same_bytes_and_different_seeds_differ(tmp_path, cohort_file):
    again = write_cohort(tmp_path / "again.csv", 300, 2012)
    assert again.path.read_bytes() == cohort_file(300, 2012).read_bytes()
    assert cohort_file(300, 0).read_bytes() != cohort_file(300, 1).read_bytes()
    streamed = b"".join(iter_cohort_csv(300, 2012))
    assert streamed == again.path.read_bytes()


def test_summary_matches_the_file(tmp_path):
    summary = write_cohort(tmp_path / "c.csv", 300, 5)
    df = read_flat(summary.path)
    assert summary.rows == len(df) and summary.bytes == summary.path.stat().st_size
    assert (summary.patients, summary.women, summary.men) == (300, 217, 83)
    assert (summary.osteoporotic, summary.pathologic) == (270, 30)
    assert summary.age_mean == pytest.approx(df.drop_duplicates("patient_id")["age"].mean(), abs=1e-12)


def test_several_sites_share_the_patients(tmp_path):
    params = CohortParameters(sites=site_codes(3))
    df = read_flat(write_cohort(tmp_path / "sites.csv", 900, 1, params).path)
    per_site = df.drop_duplicates("patient_id")["site"].value_counts()
    assert set(per_site.index) == {"SITE-A", "SITE-B", "SITE-C"}
    assert per_site.min() > 200


def test_patient_ids_grow_past_six_digits_without_padding():
    text = b"".join(iter_cohort_csv(3, 1, chunk_size=1))
    assert text.count(b"\nVP000003,") >= 1
    from vertebro.synth.writer import _patient_ids

    ids = _patient_ids(999_998, 3)
    rendered = [bytes(row[row != 0]).decode() for row in ids]
    assert rendered == ["VP999998,", "VP999999,", "VP1000000,"]


@pytest.mark.parametrize("patients", [0, -5, 2.5, True])
def test_a_cohort_needs_at_least_one_patient(tmp_path, patients):
    with pytest.raises(DomainError, match="at least 1 patient"):
        write_cohort(tmp_path / "none.csv", patients, 1)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


def test_a_negative_seed_is_refused(tmp_path):
    with pytest.raises(DomainError, match="seed"):
        write_cohort(tmp_path / "none.csv", 10, -1)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_leaves_nothing_behind(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        write_cohort(blocker / "cohort.csv", 10, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_parameters_refuse_impossible_values():
    base = CohortParameters()
    with pytest.raises(DomainError, match="timepoint"):
        CohortParameters(pain=replace(base.pain, improvement_osteoporotic=(4.0,)))
    with pytest.raises(DomainError, match="never increase"):
        CohortParameters(follow_up=replace(base.follow_up, retention_osteoporotic=(0.9, 0.95, 0.8, 0.7, 0.6)))
    with pytest.raises(DomainError, match="level"):
        CohortParameters(procedures=replace(ProcedureModel(), levels_osteoporotic=(("X9", 1.0),)))
    with pytest.raises(DomainError, match="sites"):
        site_codes(27)


def test_procedure_dates_do_not_depend_on_today():
    """The span is fixed, so a seed's file is the same on any day (and every date lies in the past)."""
    df = pd.read_csv(io.BytesIO(b"".join(iter_cohort_csv(2000, 9))))
    latest = pd.to_datetime(df["assessed_on"]).max().date()
    assert latest <= ProcedureModel().last_date + timedelta(days=545) < date.today()
