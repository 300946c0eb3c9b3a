"""Where `vertebro analyze` and `vertebro report` take their rows from: a flat CSV file or the registry.

Both commands accept the same ``--csv FILE`` and fall back to the registry without it; this module is
the one place that reads, validates and refuses, so the two commands say the same sentence for the
same problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..domain.timepoints import FOLLOW_UP_CODES
from ..errors import VertebroError
from .app import err_console

if TYPE_CHECKING:  # pandas is imported lazily: `vertebro --help` must stay quick
    import pandas as pd

#: The --instruments option of `vertebro analyze` and `vertebro report`.
INSTRUMENTS_HELP = (
    "Also analyse the outcome instruments (RDQ, ODI, EQ-5D-5L, analgesic use) in this CSV file: a score file "
    "(patient_id, measure, timepoint, days, score) or an item answer file (patient_id, instrument, timepoint, "
    "days, instance, item, answer), as `vertebro synth --instruments-out` writes. Without it, the registry's "
    "stored instrument scores are analysed (when it holds any)."
)

#: The --source option of `vertebro analyze` and `vertebro report` (issue 9).
SOURCE_HELP = (
    "Keep only follow-up scores from these sources (comma-separated: staff, import, fhir, api, patient), e.g. "
    "--source patient for what patients reported at home; baseline scores are kept whatever their source, since "
    "every change is measured from them. Needs the flat `source` column (the registry always has it)."
)

__all__ = ["INSTRUMENTS_HELP", "SOURCE_HELP", "FlatSource", "restrict_to_sources", "analyse_flat_source", "check_primary", "load_flat_source", "spinner"]


@dataclass(frozen=True)
class FlatSource:
    """Validated flat-format rows and where they came from.

    Attributes
    ----------
    frame : pandas.DataFrame
        What :func:`vertebro.stats.validate.validate_flat` returns (typed, every rule checked), so it
        may go to ``analyze(frame, validated=True)``.
    where : str
        For the terminal: the CSV path as given, or ``"the registry (<database>)"``.
    name : str
        For a document that travels (the HTML report): the file name without its folders, or the
        registry phrase.
    notice : str or None
        Said above the results: that the registry's patients are the demo's synthetic ones.
    instruments : pandas.DataFrame or None
        The instrument score frame: read from ``--instruments`` when given, else the registry's
        (:func:`vertebro.registry.selectors.instrument_scores.instrument_score_frame`) when it holds
        any; None for a CSV source without ``--instruments``.
    """

    frame: pd.DataFrame
    where: str
    name: str
    notice: str | None = None
    instruments: pd.DataFrame | None = None


def load_flat_source(csv: Path | None) -> FlatSource:
    """Read and validate the rows to analyse: the flat CSV file ``csv``, or the registry when None.

    Raises
    ------
    VertebroError
        One sentence when the file does not exist, is a folder, cannot be opened, is not a readable CSV
        file or holds no data rows, or when the registry holds no pain assessment.
    vertebro.stats.validate.FlatDataError
        When rows break a rule (every problem with its line, column, value and rule).
    """
    if csv is not None:
        from ..stats.validate import load_flat_csv

        frame = load_flat_csv(csv)  # refuses a missing file, a folder and an unreadable CSV by name
        if frame.empty:
            raise VertebroError(f"{csv} has a header but no data rows; give --csv a file with pain assessments.")
        return FlatSource(frame, str(csv), Path(csv).name)

    from .registry_cmds import open_registry

    where = f"the registry ({open_registry()})"  # starts Django: the registry's modules import after it
    from ..registry.selectors.flat import flat_assessments_df, synthetic_site_codes
    from ..stats.validate import validate_flat
    from ..synth import SYNTHETIC_NOTICE

    rows = flat_assessments_df()
    if rows.empty:
        raise VertebroError(f"{where} holds no pain assessments; add patients first or pass --csv FILE.")
    synthetic = synthetic_site_codes()
    notice = f"{SYNTHETIC_NOTICE} (Sites {', '.join(synthetic)}.)" if synthetic else None
    from ..registry.selectors.instrument_scores import instrument_score_frame

    scores = instrument_score_frame()
    return FlatSource(validate_flat(rows, source=where), where, where, notice, None if scores.empty else scores)


def check_primary(primary: str) -> None:
    """Refuse a primary timepoint that is not a follow-up timepoint, before any slow work."""
    if primary not in FOLLOW_UP_CODES:
        raise VertebroError(f"--primary {primary!r} is not a follow-up timepoint; use one of {', '.join(FOLLOW_UP_CODES)}.")


@contextmanager
def spinner() -> Iterator[Callable[[str], None]]:
    """A transient spinner on standard error (standard output stays clean for --json); yields ``say``."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("Loading the data", total=None)
        yield lambda text: progress.update(task, description=text)


def parse_sources(text: str | None) -> tuple[str, ...] | None:
    """The codes of ``--source`` ("patient" or "staff,import"), refused by name when unknown."""
    if not text:
        return None
    from ..domain.vocabulary import ASSESSMENT_SOURCE

    codes = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [code for code in codes if code not in ASSESSMENT_SOURCE]
    if unknown or not codes:
        raise VertebroError(f"--source {text!r}: {', '.join(unknown) or 'nothing'} is not a source; use one or more of {', '.join(ASSESSMENT_SOURCE.codes)}.")
    return codes


def restrict_to_sources(source: FlatSource, sources: tuple[str, ...]) -> FlatSource:
    """Keep baseline scores and the follow-up scores of ``sources`` (see :data:`SOURCE_HELP`)."""
    frame = source.frame
    if "source" not in frame.columns:
        raise VertebroError(f"{source.where} has no `source` column, so --source cannot choose scores; drop --source or add the column.")
    keep = (frame["timepoint"] == "baseline") | frame["source"].isin(sources)
    if not (keep & (frame["timepoint"] != "baseline")).any():
        raise VertebroError(f"{source.where} holds no follow-up score from {', '.join(sources)}; drop --source or choose another.")
    label = f"{source.where}, follow-up scores from {', '.join(sources)} only"
    return replace(source, frame=frame[keep].reset_index(drop=True), where=label, name=f"{source.name}, follow-up scores from {', '.join(sources)} only")


def analyse_flat_source(
    csv: Path | None,
    *,
    primary: str,
    say: Callable[[str], None],
    instruments: Path | None = None,
    reviewer: Any = None,
    sources: tuple[str, ...] | None = None,
) -> tuple[FlatSource, dict[str, Any]]:
    """Load and validate the rows (see :func:`load_flat_source`) and run the analysis contract on them.

    ``instruments`` names an instrument score or answer CSV file
    (:func:`vertebro.stats.instrument_scores.load_instrument_csv`) for the contract's ``instruments``
    section; it replaces the registry's own instrument scores.
    ``reviewer`` is a :class:`vertebro.stats.reviewer.ReviewerSettings` (the defaults when None).
    """
    source = load_flat_source(csv)
    if sources:
        source = restrict_to_sources(source, sources)
    if instruments is not None:
        from ..stats.instrument_scores import load_instrument_csv

        say(f"Reading the instruments in {instruments}")
        source = replace(source, instruments=load_instrument_csv(instruments))
    say(f"Analysing {source.frame['patient_id'].nunique():,} patients")
    from ..stats.analysis import analyze

    from ..stats.reviewer import ReviewerSettings

    settings = reviewer or ReviewerSettings()
    return source, analyze(source.frame, primary=primary, validated=True, instruments=source.instruments, reviewer=settings)
