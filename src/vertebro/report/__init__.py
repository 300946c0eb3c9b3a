"""The HTML report: one self-contained file (figures embedded, CSS inline) built from stats results.

``render_report(df, analysis)`` returns the document; ``write_report(html, out_dir)`` writes it as
``out_dir/report.html``. The analysis dict is the ``vertebro.analysis/1`` contract of
``vertebro.stats.analysis.analyze``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..errors import VertebroError
from .render import render_report

REPORT_FILENAME = "report.html"

__all__ = ["REPORT_FILENAME", "render_report", "write_report"]


def write_report(html: str, out_dir: str | Path) -> Path:
    """Write ``html`` to ``out_dir/report.html`` (creating ``out_dir``) and return the path.

    The file is written under a temporary name and renamed, so a failure never leaves a
    half-written report behind.

    Raises
    ------
    VertebroError
        When ``out_dir`` is a file, or the folder cannot be created or written to.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise VertebroError(f"{folder} is a file, not a folder; give --out a folder to hold report.html.")
    target = folder / REPORT_FILENAME
    partial = folder / f".{REPORT_FILENAME}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_text(html, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = (exc.strerror or type(exc).__name__).lower()
        raise VertebroError(
            f"Cannot write the report to {folder} ({reason}); choose a folder you can write to with --out."
        ) from exc
    return target
