"""Pure domain layer: vocabularies, timepoint windows and validation rules. No Django here."""

from .errors import DomainError

__all__ = ["DomainError"]
