"""Write the synthetic cohort in the flat format, streaming one chunk at a time.

Memory stays at one chunk's worth however large the cohort: the chunk is drawn (numpy, vectorised),
turned into CSV text through small lookup tables of ready-made fields (every column but
``patient_id`` takes few distinct values), written, and dropped before the next one is drawn.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ..domain.flat import FLAT_COLUMNS, FLAT_OPTIONAL_COLUMNS
from ..domain.levels import LEVEL_CODES
from ..domain.timepoints import BY_CODE
from ..domain.vocabulary import ETIOLOGY, VENUE
from .cohort import NOT_ASKED, TIMEPOINT_COLUMNS, Chunk, iter_chunks
from .instrument_parameters import InstrumentModel
from .instruments import ANSWERS_HEADER, SCORES_HEADER, instrument_chunk
from .parameters import CohortParameters

#: Patients drawn and written at a time. The output depends on it, so it is fixed: changing it
#: changes every file a seed gives.
CHUNK_PATIENTS = 10_000
#: Seed used when none is given: the year of the abstract.
DEFAULT_SEED = 2012
HEADER = ",".join(FLAT_COLUMNS + FLAT_OPTIONAL_COLUMNS)


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`write_cohort` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    patients, rows, bytes : int
        Patients, data rows (one per pain assessment; the header excluded) and file size.
    women, men, osteoporotic, pathologic : int
        Exact counts.
    age_mean : float
        Mean age in years (not rounded).
    age_min, age_max : int
        Youngest and oldest patient.
    seed : int
        The seed that produced the file.
    """

    path: Path
    patients: int
    rows: int
    bytes: int
    women: int
    men: int
    osteoporotic: int
    pathologic: int
    age_mean: float
    age_min: int
    age_max: int
    seed: int


def _field_table(texts: list[str]) -> np.ndarray:
    """Fixed-width ASCII fields (NUL-padded), indexable by code."""
    return np.array([text.encode("ascii") for text in texts], dtype=bytes)


class _Tables:
    """Ready-made CSV fields, each ending in its comma, looked up by small integer codes."""

    def __init__(self, params: CohortParameters):
        procedures = params.procedures
        self.day_offset = -BY_CODE["baseline"].first_day
        last_day = max(tp.last_day for tp in BY_CODE.values())
        self.first_ordinal = procedures.first_date.toordinal() - self.day_offset
        self.dates = _field_table(
            [
                date.fromordinal(o).isoformat() + ","
                for o in range(self.first_ordinal, procedures.last_date.toordinal() + last_day + 1)
            ]
        )
        self.sites = _field_table([f"{code}," for code in params.sites])
        self.sexes = _field_table(["M,", "F,"])  # indexed by `female`
        self.ages = _field_table([f"{age}," for age in range(121)])
        self.etiologies = _field_table([f"{code}," for code in ETIOLOGY.codes[:2]])  # indexed by `pathologic`
        # "timepoint,days," for every day of each timepoint's window (other slots stay empty).
        self.day_span = self.day_offset + last_day + 1
        texts = [""] * (len(TIMEPOINT_COLUMNS) * self.day_span)
        for t, code in enumerate(TIMEPOINT_COLUMNS):
            window = BY_CODE[code]
            for day in range(window.first_day, window.last_day + 1):
                texts[t * self.day_span + day + self.day_offset] = f"{code},{day},"
        self.timepoint_days = _field_table(texts)
        # "vps,venue,recurrent_pain," for every score, venue and recurrent value (empty, 0, 1).
        self.venue_count = len(VENUE.codes)
        self.score_venue_recurrent = _field_table(
            [
                f"{score},{venue},{'' if recurrent == NOT_ASKED else recurrent},"
                for score in range(11)
                for venue in VENUE.codes
                for recurrent in (NOT_ASKED, 0, 1)
            ]
        )
        self.cement = _field_table([f"{tenths // 10}.{tenths % 10}\n" for tenths in range(1000)])
        self.level_text: dict[int, bytes] = {}

    def levels(self, masks: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(masks, return_inverse=True)
        for mask in unique.tolist():
            if mask not in self.level_text:
                codes = [code for i, code in enumerate(LEVEL_CODES) if mask >> i & 1]
                self.level_text[mask] = (";".join(codes) + ",").encode("ascii")
        return np.array([self.level_text[mask] for mask in unique.tolist()], dtype=bytes)[inverse]


def _columns(field: np.ndarray) -> np.ndarray:
    """A fixed-width bytes array as a 2-D array of byte values, one row per element."""
    return field.view(np.uint8).reshape(len(field), field.dtype.itemsize)


def _patient_ids(first: int, n: int) -> np.ndarray:
    """``VP000001,`` … as byte rows: at least six digits, more when the number needs them."""
    numbers = np.arange(first, first + n, dtype=np.int64)
    width = max(6, len(str(first + n - 1)))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers[:, None] // powers[None, :]) % 10 + ord("0")
    # Leading zeros beyond the sixth digit become NUL, which the writer drops.
    digits[(numbers[:, None] < powers[None, :]) & (np.arange(width) < width - 6)[None, :]] = 0
    ids = np.empty((n, width + 3), dtype=np.uint8)
    ids[:, 0], ids[:, 1], ids[:, -1] = ord("V"), ord("P"), ord(",")
    ids[:, 2:-1] = digits
    return ids


def chunk_csv(chunk: Chunk, tables: _Tables) -> bytes:
    """The CSV lines (ASCII, each ending in a newline) of one chunk: patients in order, timepoints in schedule order.

    Every field comes from a fixed-width table padded with NUL bytes; the fields of all rows are laid
    side by side in one byte matrix and the padding is dropped in a single pass.
    """
    patient = np.hstack(
        [
            _patient_ids(chunk.first_number, len(chunk)),
            _columns(tables.sites[chunk.site]),
            _columns(tables.sexes[chunk.female.astype(np.int64)]),
            _columns(tables.ages[chunk.age]),
            _columns(tables.etiologies[chunk.pathologic.astype(np.int64)]),
            _columns(tables.dates[chunk.procedure_day - tables.first_ordinal]),
        ]
    )
    tail = np.hstack([_columns(tables.levels(chunk.level_mask)), _columns(tables.cement[chunk.cement_tenths])])

    owner, column = np.nonzero(chunk.present)  # row-major: patient by patient, in schedule order
    days = chunk.days[owner, column]
    recurrent = chunk.recurrent[owner, column].astype(np.int64) + 1  # empty, 0, 1 -> 0, 1, 2
    score_venue = (chunk.vps[owner, column] * tables.venue_count + chunk.venue[owner, column]) * 3 + recurrent
    matrix = np.hstack(
        [
            patient[owner],
            _columns(tables.timepoint_days[column * tables.day_span + days + tables.day_offset]),
            _columns(tables.score_venue_recurrent[score_venue]),
            _columns(tables.dates[chunk.procedure_day[owner] + days - tables.first_ordinal]),
            tail[owner],
        ]
    ).ravel()
    return matrix[matrix != 0].tobytes()


def iter_cohort_csv(
    patients: int = 300,
    seed: int = DEFAULT_SEED,
    params: CohortParameters | None = None,
    *,
    chunk_size: int = CHUNK_PATIENTS,
    on_chunk: Callable[[Chunk], None] | None = None,
) -> Iterator[bytes]:
    """The flat-format CSV of a synthetic cohort as ASCII bytes: the header, then one piece per chunk.

    Parameters
    ----------
    patients : int
        Cohort size, at least 1. 300 (the default) reproduces the seed abstract's figures exactly.
    seed : int
        Non-negative; the same seed (with the same size, parameters and chunk size) gives the same text.
    params : CohortParameters, optional
        Calibration; the defaults document their sources.
    chunk_size : int
        Patients per chunk; part of what determines the output.
    on_chunk : callable, optional
        Called with every chunk after its bytes are made (progress, summaries).
    """
    params = params or CohortParameters()
    tables = _Tables(params)
    chunks = iter_chunks(patients, seed, params, chunk_size=chunk_size)
    first = next(chunks)  # validates patients and seed before any text is produced
    yield (HEADER + "\n").encode("ascii")
    for chunk in _chain(first, chunks):
        piece = chunk_csv(chunk, tables)
        if on_chunk:
            on_chunk(chunk)
        yield piece


def _chain(first: Chunk, rest: Iterator[Chunk]) -> Iterator[Chunk]:
    yield first
    yield from rest


def write_cohort(
    path: str | Path,
    patients: int = 300,
    seed: int = DEFAULT_SEED,
    params: CohortParameters | None = None,
    *,
    chunk_size: int = CHUNK_PATIENTS,
    on_progress: Callable[[int], None] | None = None,
    instruments_out: str | Path | None = None,
    instrument_scores_out: str | Path | None = None,
    instrument_model: InstrumentModel | None = None,
) -> SynthSummary:
    """Write a synthetic cohort to ``path`` in the flat format and return what was written.

    The file appears whole or not at all: text goes to a temporary file beside ``path`` that replaces
    it only once complete. Memory use is one chunk's worth, independent of ``patients``.

    Parameters
    ----------
    path : str or Path
        The CSV file to write (replaced if it exists; its folder must exist).
    patients, seed, params, chunk_size
        As for :func:`iter_cohort_csv`.
    on_progress : callable, optional
        Called with the number of patients written so far after each chunk.
    instruments_out, instrument_scores_out : str or Path, optional
        Also write the patients' instrument item answers (answer frame) and their scores (score frame,
        :mod:`vertebro.stats.instrument_scores`), drawn chunk by chunk from a random stream of their own
        (:mod:`vertebro.synth.instruments`): the pain file is the same with or without them.
    instrument_model : InstrumentModel, optional
        The instruments' assumptions (defaults documented in :mod:`.instrument_parameters`).

    Raises
    ------
    DomainError
        When ``patients`` is below 1 or ``seed`` is negative (nothing is written).
    OSError
        When the file cannot be written (nothing is left behind).
    """
    path = Path(path)
    counts = {"patients": 0, "rows": 0, "women": 0, "pathologic": 0, "age_sum": 0, "age_min": 999, "age_max": -1}

    def tally(chunk: Chunk) -> None:
        counts["patients"] += len(chunk)
        counts["rows"] += int(np.count_nonzero(chunk.present))
        counts["women"] += int(np.count_nonzero(chunk.female))
        counts["pathologic"] += int(np.count_nonzero(chunk.pathologic))
        counts["age_sum"] += int(chunk.age.sum())
        counts["age_min"] = min(counts["age_min"], int(chunk.age.min()))
        counts["age_max"] = max(counts["age_max"], int(chunk.age.max()))
        if on_progress:
            on_progress(counts["patients"])

    extras = _InstrumentFiles(instruments_out, instrument_scores_out, seed, instrument_model)

    def each_chunk(chunk: Chunk) -> None:
        extras.write(chunk)
        tally(chunk)

    pieces = iter_cohort_csv(patients, seed, params, chunk_size=chunk_size, on_chunk=each_chunk)
    header = next(pieces)  # raises on bad arguments before a file is touched
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, extras:
            out.write(header)
            for piece in pieces:
                out.write(piece)
        os.chmod(temporary, 0o644)
        extras.commit()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        extras.discard()
        raise
    return SynthSummary(
        path=path,
        patients=counts["patients"],
        rows=counts["rows"],
        bytes=path.stat().st_size,
        women=counts["women"],
        men=counts["patients"] - counts["women"],
        osteoporotic=counts["patients"] - counts["pathologic"],
        pathologic=counts["pathologic"],
        age_mean=counts["age_sum"] / counts["patients"],
        age_min=counts["age_min"],
        age_max=counts["age_max"],
        seed=int(seed),
    )


class _InstrumentFiles:
    """The optional instrument answer and score files of :func:`write_cohort`, written under temporary names."""

    def __init__(self, answers: str | Path | None, scores: str | Path | None, seed: int, model: InstrumentModel | None):
        wanted = (("answers", answers, ANSWERS_HEADER), ("scores", scores, SCORES_HEADER))
        self.targets = [(kind, Path(target), header) for kind, target, header in wanted if target is not None]
        self.seed, self.model = seed, model or InstrumentModel()
        self.temporaries: list[Path] = []
        self.handles: list = []

    def __enter__(self) -> _InstrumentFiles:
        for _, target, header in self.targets:
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            self.temporaries.append(Path(name))
            self.handles.append(os.fdopen(handle, "w", encoding="ascii", newline=""))
            self.handles[-1].write(header)
        return self

    def write(self, chunk: Chunk) -> None:
        if self.targets:
            drawn = instrument_chunk(chunk, self.seed, self.model)
            for handle, (kind, _, _) in zip(self.handles, self.targets):
                handle.write(getattr(drawn, kind))

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.close()

    def commit(self) -> None:
        for temporary, (_, target, _) in zip(self.temporaries, self.targets):
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)

    def discard(self) -> None:
        for temporary in self.temporaries:
            temporary.unlink(missing_ok=True)


__all__ = ["CHUNK_PATIENTS", "DEFAULT_SEED", "HEADER", "SynthSummary", "iter_cohort_csv", "write_cohort"]
