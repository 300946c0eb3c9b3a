"""Reading CSV and XLSX files into frames of text cells, with the file line of every row.

Cells stay text here (``""`` for empty): the validator decides what each means, so that an error
report can quote a value exactly as the file holds it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import VertebroError
from .problems import combine, no_problems, problems_frame

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Table:
    """A file read as text.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per header name, every cell a ``str``.
    lines : numpy.ndarray
        File line (CSV, header is line 1) or sheet row (XLSX) of each row of ``frame``.
    problems : pandas.DataFrame
        Rows the reader could not take (wrong number of fields, duplicate header names...).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    problems: pd.DataFrame


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    return "csv"


def read_table(path: Path, file_format: str | None = None) -> Table:
    """Read ``path`` (CSV in UTF-8, with or without BOM, or the first sheet of an XLSX workbook)."""
    if not path.exists():
        raise VertebroError(f"{path} does not exist; give the path of the file to import")
    file_format = file_format or guess_format(path)
    if file_format == "xlsx":
        return _read_xlsx(path)
    if file_format != "csv":
        raise VertebroError(f"{path.name}: cannot read format {file_format!r} as a table; use csv or xlsx")
    return read_csv_bytes(path.read_bytes(), name=path.name)


def read_csv_bytes(data: bytes, *, name: str = "input") -> Table:
    """Parse CSV bytes (UTF-8, BOM allowed). Arrow's parser reads well-formed files fast; any
    irregular file (rows of the wrong length, blank lines, line breaks inside cells, repeated
    column names, bytes that are not UTF-8) goes through Python's csv module, which reports each
    irregular line exactly."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or data.isspace():  # isspace stops at the first other byte: no copy of a big file
        raise VertebroError(f"{name} is empty: it needs a header line and one line per pain assessment")
    fast = _read_csv_fast(data)
    if fast is not None:
        return fast
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VertebroError(
            f"{name} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8 and import it again"
        ) from None
    return _read_csv_slowly(text)


def _read_csv_fast(data: bytes) -> Table | None:
    """Arrow's multithreaded parser, or None when the file needs the careful reader. Every column
    is read as dictionary-encoded text (Arrow checks it is UTF-8) and arrives as a pandas
    Categorical: the validator then works once per distinct value (a column of a million cells
    holds a few thousand values at most, ids aside)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first, newline, body = data.partition(b"\n")
    if not newline or b"\x00" in data or b"\r" in first[:-1]:
        return None
    if body.startswith((b"\n", b"\r\n")) or b"\n\n" in body or b"\n\r\n" in body:
        return None  # a blank line is no row (Arrow would make it a row of empty cells)
    try:
        header = next(csv.reader([first.decode("utf-8").rstrip("\r")]), [])
    except UnicodeDecodeError:
        return None
    if not header or len(set(header)) != len(header):
        return None
    physical_lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: text for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != physical_lines:
        return None  # blank lines or quoted line breaks: the slow reader numbers lines exactly
    if _has_blank_first_cell(table):
        return None  # perhaps a spreadsheet's empty row (a line of commas), which is no row: the slow reader skips it
    frame = pa.table(table.columns, names=[str(i) for i in range(len(header))]).to_pandas()
    frame.columns = pd.Index(header)
    return Table(frame, np.arange(2, len(frame) + 2), no_problems())


def _header_problems(header: list[str]) -> pd.DataFrame:
    seen: set[str] = set()
    bad = []
    for name in header:
        if name in seen:
            bad.append(name)
        seen.add(name)
    if not bad:
        return no_problems()
    return problems_frame(1, "(header)", bad, "a column name appears more than once")


def _has_blank_first_cell(table) -> bool:  # noqa: ANN001 - a pyarrow Table of dictionary-encoded text
    """Whether any row's first cell is blank, looking at the column's distinct values only."""
    import pyarrow.compute as pc

    return any(
        len(chunk.dictionary) and pc.any(pc.equal(pc.utf8_trim_whitespace(chunk.dictionary), "")).as_py()
        for chunk in table.column(0).chunks
    )


def _read_csv_slowly(text: str) -> Table:
    reader = csv.reader(io.StringIO(text), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return Table(pd.DataFrame(), np.array([], dtype="int64"), problems_frame(1, "(header)", "", "the file is empty"))
    except csv.Error as exc:
        return Table(pd.DataFrame(), np.array([], dtype="int64"), problems_frame(1, "(header)", "", f"unreadable CSV header: {exc}"))
    if any("\x00" in name for name in header):
        shown = ",".join(header).replace("\x00", "<NUL>")[:80]
        return Table(pd.DataFrame(), np.array([], dtype="int64"), problems_frame(1, "(header)", shown, "the header holds a NUL byte, which no text may contain: the file is damaged or not a text CSV"))
    rows, lines, bad = [], [], []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.append((start, "(row)", "", f"unreadable CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue  # a blank line, or a line of empty cells (a spreadsheet's empty row), is no row
        if any("\x00" in cell for cell in row):
            bad.append((start, "(row)", ",".join(row).replace("\x00", "<NUL>")[:80], "the line holds a NUL byte, which no text may contain: the file is damaged or not a text CSV"))
            continue
        if len(row) != len(header):
            bad.append((start, "(row)", ",".join(row)[:80], f"the row has {len(row)} fields, the header has {len(header)}"))
            continue
        rows.append(row)
        lines.append(start)
    frame = _unique_columns(rows, header)
    found = [_header_problems(header)]
    if bad:
        found.append(problems_frame(*zip(*bad)))
    return Table(frame, np.array(lines, dtype="int64"), combine(found))


def _unique_columns(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    """Rows as a frame named by the header; a repeated name keeps its first column (the repeat is
    reported as a header problem, which stops the import)."""
    frame = pd.DataFrame(rows, columns=range(len(header)), dtype="object") if rows else pd.DataFrame(columns=range(len(header)), dtype="object")
    keep = [i for i, name in enumerate(header) if name not in header[:i]]
    frame = frame.iloc[:, keep]
    frame.columns = pd.Index([header[i] for i in keep])
    return frame


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise VertebroError(f"{path.name} cannot be opened as an XLSX workbook ({exc}); save it again from Excel") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_cells = next(rows, None)
        if header_cells is None:
            return Table(pd.DataFrame(), np.array([], dtype="int64"), problems_frame(1, "(header)", "", "the sheet is empty"))
        header = [_cell_text(c).strip() for c in header_cells]
        while header and header[-1] == "":
            header.pop()
        data, lines, empty = [], [], []
        for number, cells in enumerate(rows, start=2):
            texts = [_cell_text(c) for c in cells[: len(header)]]
            texts += [""] * (len(header) - len(texts))
            if any(t.strip() for t in texts):
                data.append(texts)
                lines.append(number)
                empty += [(number, i) for i, c in enumerate(cells[: len(header)]) if c is None]
    finally:
        workbook.close()
    found = [_header_problems(header), _uncalculated_formulas(path, header, empty)]
    uncalculated = set(found[1]["line"].tolist())
    keep = [i for i, line in enumerate(lines) if line not in uncalculated]
    frame = _unique_columns([data[i] for i in keep], header)
    return Table(frame, np.array([lines[i] for i in keep], dtype="int64"), combine(found))


def _uncalculated_formulas(path: Path, header: list[str], empty: list[tuple[int, int]]) -> pd.DataFrame:
    """Cells that hold a formula but no saved value (a workbook written by a program, never opened in a
    spreadsheet): vertebro does not evaluate formulas, and reading them as blank would hide a value."""
    if not empty:
        return no_problems()
    from openpyxl import load_workbook

    wanted = set(empty)
    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        found = []
        for number, cells in enumerate(workbook.worksheets[0].iter_rows(min_row=2, values_only=True), start=2):
            for i, cell in enumerate(cells[: len(header)]):
                if (number, i) in wanted and isinstance(cell, str) and cell.startswith("="):
                    found.append((number, header[i], cell, "the cell holds a formula with no saved value; vertebro does not calculate formulas: open and save the workbook in a spreadsheet, or paste the values"))
    finally:
        workbook.close()
    return problems_frame(*zip(*found)) if found else no_problems()
