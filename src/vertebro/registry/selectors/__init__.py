"""Reads from the registry."""

from .flat import flat_assessments_df

__all__ = ["flat_assessments_df"]
