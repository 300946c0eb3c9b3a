"""Reading CSV files: the fast reader's output, and what sends a file to the careful reader."""

from __future__ import annotations

import pandas as pd
import pytest

from vertebro.errors import VertebroError
from vertebro.interop.tabular import read_csv_bytes

from .flat_rows import flat_rows


def test_a_well_formed_file_arrives_as_categoricals_of_the_cells_with_file_lines():
    data = flat_rows(2).to_csv(index=False).encode()
    table = read_csv_bytes(data)
    assert table.problems.empty and table.lines.tolist() == list(range(2, 10))
    assert all(isinstance(dtype, pd.CategoricalDtype) for dtype in table.frame.dtypes)
    assert table.frame.astype(str).values.tolist() == flat_rows(2).values.tolist()  # empty cells stay ""


def test_a_byte_order_mark_and_crlf_line_ends_are_read_the_same():
    text = flat_rows(1).to_csv(index=False)
    table = read_csv_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert list(table.frame.columns) == list(flat_rows(1).columns)
    assert table.frame.astype(str).values.tolist() == flat_rows(1).values.tolist()


@pytest.mark.parametrize("where", ["cell", "header"])
def test_bytes_that_are_not_utf8_are_refused_with_their_offset(where):
    data = bytearray(flat_rows(1).to_csv(index=False).encode())
    offset = data.index(b"P000") if where == "cell" else 2
    data[offset] = 0xFF
    with pytest.raises(VertebroError, match=f"cohort.csv is not UTF-8 text \\(byte {offset}\\)"):
        read_csv_bytes(bytes(data), name="cohort.csv")


def test_a_blank_line_sends_the_file_to_the_careful_reader_which_numbers_lines_exactly():
    lines = flat_rows(1).to_csv(index=False).splitlines()
    table = read_csv_bytes("\n".join(lines[:3] + [""] + lines[3:]).encode())
    assert table.lines.tolist() == [2, 3, 5, 6]


@pytest.mark.parametrize("empty_row", [",,,,", ",,,,\r", ",  ,,,"])
def test_a_line_of_empty_cells_is_no_row_as_a_blank_line_is_not(empty_row):
    data = f"a,b,c,d,e\n1,2,3,4,5\n{empty_row}\n6,7,8,9,10\n".encode()
    table = read_csv_bytes(data)
    assert table.frame["a"].astype(str).tolist() == ["1", "6"]
    assert table.lines.tolist() == [2, 4]
    assert table.problems.empty


def test_a_nul_byte_is_reported_on_its_line_never_dropped():
    table = read_csv_bytes(b"patient_id,name\nN\x0001,Ma\x00ry\nN02,Ann\n")
    assert table.frame["patient_id"].tolist() == ["N02"]
    assert table.problems[["line", "column"]].values.tolist() == [[2, "(row)"]]
    assert table.problems["value"].iloc[0] == "N<NUL>01,Ma<NUL>ry"
    assert "NUL byte" in table.problems["rule"].iloc[0]


def test_an_empty_file_is_refused_by_name():
    with pytest.raises(VertebroError, match="cohort.csv is empty"):
        read_csv_bytes(b"  \n", name="cohort.csv")


def test_an_xlsx_formula_with_no_saved_value_is_reported_not_read_as_blank(tmp_path):
    from openpyxl import Workbook

    from vertebro.interop.tabular import read_table

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["patient_id", "vps", "name"])
    sheet.append(["P1", 4, "Ann"])
    sheet.append(["P2", "=2+3", "Bob"])  # written by a program: no value was ever calculated
    sheet.append(["P3", 6, None])  # a truly empty cell stays empty
    path = tmp_path / "scores.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.frame["patient_id"].tolist() == ["P1", "P3"] and table.lines.tolist() == [2, 4]
    assert table.problems[["line", "column", "value"]].values.tolist() == [[3, "vps", "=2+3"]]
    assert table.problems["rule"].iloc[0].startswith("the cell holds a formula with no saved value")


def test_a_nul_byte_in_the_header_is_named():
    table = read_csv_bytes(b"patient_id,v\x00ps\nP1,3\n")
    assert table.problems[["line", "column"]].values.tolist() == [[1, "(header)"]]
    assert "NUL byte" in table.problems["rule"].iloc[0] and table.problems["value"].iloc[0] == "patient_id,v<NUL>ps"
