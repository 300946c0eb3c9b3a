"""The analysis report of some of the registry's sites, as `vertebro report` builds it for the whole registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import VertebroError
from .flat import flat_assessments_df, synthetic_site_codes

#: The report's primary timepoint, as `vertebro report`'s default.
PRIMARY = "post"


def registry_report_html(*, site_codes: Sequence[str], deidentified: bool) -> str:
    """The self-contained HTML report (figures embedded) of the pain assessments of ``site_codes``.

    The rows are read without identifiers (no name, MRN or date of birth): the report shows
    aggregates only. Its one date about patients, the data cut-off (the last assessment's date), is
    shown as its year alone when ``deidentified`` (Safe Harbor keeps years only), as analysts read it.

    Raises
    ------
    VertebroError
        When the sites hold no pain assessment, or (``FlatDataError``) stored rows break a rule of
        the analysis (each problem named; ``vertebro db check`` lists them too).
    """
    from ...report import render_report
    from ...stats.analysis import analyze
    from ...stats.validate import validate_flat
    from ...synth import SYNTHETIC_NOTICE

    codes = sorted(site_codes)
    where = f"the registry (site{'s' if len(codes) != 1 else ''} {', '.join(codes)})"
    rows = flat_assessments_df(site_codes=codes)
    if rows.empty:
        raise VertebroError(f"{where} holds no pain assessments yet, so there is nothing to analyse.")
    synthetic = [code for code in synthetic_site_codes() if code in codes]
    notice = f"{SYNTHETIC_NOTICE} (Sites {', '.join(synthetic)}.)" if synthetic else None
    frame = validate_flat(rows, source=where)
    analysis = analyze(frame, primary=PRIMARY, validated=True)
    if deidentified:
        analysis = _cutoffs_as_years(analysis)
    return render_report(frame, analysis, primary=PRIMARY, source=where, notice=notice)


def _cutoffs_as_years(value: Any) -> Any:
    """``value`` with every ``data_cutoff`` (the contract's and each section's own, e.g. the flow's) cut
    to its year."""
    if isinstance(value, dict):
        return {
            key: (str(item)[:4] if key == "data_cutoff" and item else _cutoffs_as_years(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_cutoffs_as_years(item) for item in value]
    return value
