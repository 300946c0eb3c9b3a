"""Seed-calibrated synthetic cohorts in the flat format.

``write_cohort(path)`` writes the seed study's cohort (ASSR 2012 abstract): 300 patients, 217 women and
83 men, mean age 72 (range 22–95), 270 osteoporotic and 30 pathologic fractures, every post-procedure
score below baseline and the osteoporotic group improving more at every timepoint — exactly, for any
seed. Everything the abstract does not give is a named, sourced assumption in :class:`CohortParameters`.
"""

from .parameters import (
    AgeModel,
    CohortFigures,
    CohortParameters,
    FollowUpModel,
    PainModel,
    ProcedureModel,
    site_codes,
)
from .writer import CHUNK_PATIENTS, DEFAULT_SEED, HEADER, SynthSummary, iter_cohort_csv, write_cohort

__all__ = [
    "CHUNK_PATIENTS",
    "DEFAULT_SEED",
    "HEADER",
    "AgeModel",
    "CohortFigures",
    "CohortParameters",
    "FollowUpModel",
    "PainModel",
    "ProcedureModel",
    "SynthSummary",
    "iter_cohort_csv",
    "site_codes",
    "write_cohort",
]
