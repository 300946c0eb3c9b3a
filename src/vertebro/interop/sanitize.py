"""Formula-injection neutralisation for cells a spreadsheet opens (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run by Excel, LibreOffice
and Google Sheets as a formula; prefixing it with an apostrophe makes it plain text. Numbers are left
alone (a negative number in a numeric column is a number, not a formula). Importers take the prefix
off again, so an exported file re-imports to the same values.
"""

from __future__ import annotations

import re

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")


def neutralise_text(value: object) -> object:
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell neutralised; numeric, boolean and date columns untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = values.map(neutralise_text, na_action="ignore")
    return out


def restore_text(values: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_text` on a column of text cells (for importers)."""
    return values.str.replace(_NEUTRALISED, "", regex=True)
