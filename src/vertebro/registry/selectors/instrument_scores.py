"""The registry's instrument scores as the long score frame :mod:`vertebro.stats.instruments` takes."""

from __future__ import annotations

import pandas as pd

from ...domain.timepoints import schedule_order
from ...stats.instrument_scores import SCORE_COLUMNS
from ..models import InstrumentScore, Procedure

__all__ = ["instrument_score_frame"]


def instrument_score_frame(*, site_codes: list[str] | None = None) -> pd.DataFrame:
    """One row per patient, measure and timepoint with a score, from the registry.

    Only the index (first) procedure's responses count, as in :func:`flat_assessments_df`, and
    ``days`` are days from it; responses recorded as missing and measures the answers do not allow
    (``value`` empty, e.g. an ODI with two sections missing) give no row. ``patient_id`` is the
    study id, so the frame joins the flat frame's covariates.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`vertebro.stats.instrument_scores.SCORE_COLUMNS` (``days`` Int64, ``score``
        float64), sorted by patient, measure and schedule; empty (with those columns) when the
        registry holds no instrument score.
    """
    scores = InstrumentScore.objects.filter(value__isnull=False, response__missing_reason__isnull=True)
    procedures = Procedure.objects.active()
    if site_codes is not None:
        scores = scores.filter(response__patient__site__code__in=site_codes)
        procedures = procedures.filter(patient__site__code__in=site_codes)
    rows = pd.DataFrame.from_records(
        list(scores.values_list(
            "response__patient__study_id", "response__patient_id", "response__procedure_id", "response__instrument",
            "measure", "response__timepoint", "response__assessed_on", "value",
        )),  # fmt: skip
        columns=["patient_id", "patient_pk", "procedure_pk", "instrument", "measure", "timepoint", "assessed_on", "score"],
    )
    index = pd.DataFrame.from_records(
        list(procedures.order_by("patient_id", "performed_on", "id").values_list("patient_id", "id", "performed_on")),
        columns=["patient_pk", "procedure_pk", "performed_on"],
    ).drop_duplicates("patient_pk", keep="first")
    rows = rows.merge(index, on=["patient_pk", "procedure_pk"])
    out = pd.DataFrame(
        {
            "patient_id": rows["patient_id"].astype(str),
            "instrument": rows["instrument"].astype(str),
            "measure": rows["measure"].astype(str),
            "timepoint": rows["timepoint"].astype(str),
            "days": pd.array([(a - p).days for a, p in zip(rows["assessed_on"], rows["performed_on"])], dtype="Int64"),
            "score": rows["score"].astype("float64"),
        },
        columns=list(SCORE_COLUMNS),
    )
    order = out["timepoint"].map(schedule_order)
    out = out.assign(_order=order).sort_values(["patient_id", "measure", "_order", "days"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)
