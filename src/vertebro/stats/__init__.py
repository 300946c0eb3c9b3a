"""Outcome statistics on the flat-format DataFrame: pure pandas/scipy/statsmodels/lifelines, no Django."""
