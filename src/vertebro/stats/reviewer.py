"""The sections a statistical reviewer asks for (issue 12), assembled for ``vertebro.analysis/1``.

``missing_data_sensitivity`` (multiple imputation and the tipping point), ``sites`` (cluster-robust
errors by site) and ``benchmarking`` (funnel plots of the sites). :func:`reviewer_sections` returns
the three keys; every null they hold is explained by a warning starting with the section's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_IMPUTATIONS", "DEFAULT_SEED", "SECTION_KEYS", "ReviewerSettings", "reviewer_sections"]

SECTION_KEYS = ("missing_data_sensitivity", "sites", "benchmarking")
#: m unless told otherwise (the CLI's --imputations).
DEFAULT_IMPUTATIONS = 20
#: The seed unless told otherwise (the CLI's --seed): the same file gives the same imputations.
DEFAULT_SEED = 20120612


@dataclass(frozen=True)
class ReviewerSettings:
    """How the reviewer's sections are computed.

    Attributes
    ----------
    enabled : bool
        False leaves the three sections null (``vertebro analyze --core-only``): today's analysis alone.
    imputations : int
        m, the number of imputations (at least 2).
    seed : int
        Seed of the imputations: the same file and seed give the same numbers.
    workers : int or None
        Processes for the imputations; None picks up to two when the work repays it.
    """

    enabled: bool = True
    imputations: int = DEFAULT_IMPUTATIONS
    seed: int = DEFAULT_SEED
    workers: int | None = None


def reviewer_sections(
    study: pd.DataFrame, paired: pd.DataFrame, *, primary: str, settings: ReviewerSettings, warnings: list[str]
) -> dict[str, Any]:
    """The three sections from the study rows (both groups, scheduled) and the follow-ups paired with a baseline."""
    # Imported here, so that the CLI can read the defaults above without loading scipy.
    from .funnel import funnel_section
    from .sensitivity import missing_data_sensitivity
    from .sites import sites_section

    if not settings.enabled:
        warnings.extend(f"{key}: left out on request (core analysis only)" for key in SECTION_KEYS)
        return dict.fromkeys(SECTION_KEYS)
    missing = missing_data_sensitivity(
        study, primary=primary, m=settings.imputations, seed=settings.seed, workers=settings.workers
    )
    _explain(missing, "missing_data_sensitivity", warnings)
    for row in missing["timepoints"] or []:
        if row["note"]:
            warnings.append(f"missing_data_sensitivity: {row['note']}")
    for note in (missing["delta_adjusted"] or {}).get("notes", []):
        warnings.append(f"missing_data_sensitivity: {note}")
    for point in (missing["delta_adjusted"] or {}).get("tipping_points", []):
        if point["delta"] is None:
            warnings.append(f"missing_data_sensitivity: {point['timepoint']}, {point['shifted_group']} worse: {point['note']}")

    sites = sites_section(paired)
    _explain(sites, "sites", warnings)
    rows = sites["timepoints"] or []
    shared = set.intersection(*(set(row["notes"]) for row in rows)) if rows else set()
    warnings.extend(f"sites: {note}" for note in dict.fromkeys(n for row in rows for n in row["notes"] if n in shared))
    warnings.extend(f"sites: {row['timepoint']}: {note}" for row in rows for note in row["notes"] if note not in shared)
    if (sites.get("mixed_model") or {}).get("note"):
        warnings.append(f"sites: mixed model with site and patient intercepts: {sites['mixed_model']['note']}")

    benchmarking = funnel_section(paired, primary)
    _explain(benchmarking, "benchmarking", warnings)
    warnings.extend(f"benchmarking: {note}" for note in benchmarking.get("notes", []))
    return {"missing_data_sensitivity": missing, "sites": sites, "benchmarking": benchmarking}


def _explain(section: dict[str, Any], key: str, warnings: list[str]) -> None:
    if section.get("reason"):
        warnings.append(f"{key}: {section['reason']}")
