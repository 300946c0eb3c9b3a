"""Pure statistics on the flat format (numpy, pandas, scipy, lifelines; never Django).

Entry points: :func:`vertebro.stats.validate.load_flat_csv` and
:func:`vertebro.stats.validate.validate_flat` refuse malformed input;
:func:`vertebro.stats.analysis.analyze` returns the ``vertebro.analysis/1`` contract as a plain dict.
Submodules are imported where needed so that importing this package stays cheap.
"""
