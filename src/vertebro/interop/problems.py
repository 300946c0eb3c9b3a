"""What is wrong with an input file, row by row: the error report of every importer."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..errors import VertebroError

#: Columns of an error report, in order (terminal table and ``<input>.errors.csv``).
PROBLEM_COLUMNS = ("line", "column", "value", "rule")


def problems_frame(line=(), column=(), value=(), rule=()) -> pd.DataFrame:  # noqa: ANN001
    """A frame of problems; the four arguments are equally long sequences (or scalars broadcast)."""
    columns = {"line": line, "column": column, "value": value, "rule": rule}
    if all(isinstance(v, (str, int, float, type(None))) for v in columns.values()):
        columns = {k: [v] for k, v in columns.items()}
    frame = pd.DataFrame(columns)
    return frame.astype({"column": "object", "value": "object", "rule": "object"})


def no_problems() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in PROBLEM_COLUMNS})


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return no_problems()
    out = pd.concat(frames, ignore_index=True)
    out["line"] = pd.array(out["line"], dtype="Int64")
    return out.sort_values(["line", "column"], kind="stable", na_position="first").reset_index(drop=True)


def errors_path(source: Path) -> Path:
    """Where the error report of ``source`` goes: beside it, ``<input>.errors.csv``."""
    return source.with_name(source.name + ".errors.csv")


def write_problems(problems: pd.DataFrame, path: Path, *, source: Path) -> Path:
    """Write the report as CSV (file, line, column, value, rule); file-level problems have no line.
    ``file`` names the input, so a report copied elsewhere still says what it is about. The values
    quoted from the input are neutralised like any export: people open this in a spreadsheet."""
    from .sanitize import neutralise_frame

    report = problems.loc[:, list(PROBLEM_COLUMNS)].astype({"column": str, "value": str, "rule": str})
    report.insert(0, "file", source.name)
    neutralise_frame(report).to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


class ImportRejected(VertebroError):
    """An import found problems and wrote nothing (no ``--skip-invalid``).

    Attributes
    ----------
    source : Path
        The input file.
    problems : pandas.DataFrame
        Columns ``line, column, value, rule``.
    report : Path or None
        Where the CSV error report was written.
    """

    def __init__(self, *, source: Path, problems: pd.DataFrame, report: Path | None):
        self.source, self.problems, self.report = source, problems, report
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = self.problems["line"].dropna().nunique()
        where = f"; the full list is in {self.report}" if self.report else ""
        whole_file = self.problems["line"].isna().any() or (self.problems["column"] == "(header)").any()
        advice = (
            "Correct the header (or the file's format) and import it again: no row can be read until it is right"
            if whole_file
            else "Correct the file and import it again, or pass --skip-invalid to import only the valid rows"
        )
        return f"{self.source.name}: {len(self.problems)} problem(s) in {lines} row(s), nothing was imported{where}. {advice}"
