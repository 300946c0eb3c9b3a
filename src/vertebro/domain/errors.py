"""The one error type every layer raises for a broken rule, so messages read the same everywhere."""

from __future__ import annotations


class DomainError(ValueError):
    """A value broke a registry rule.

    Parameters
    ----------
    field : str
        The field (column) that holds the value, e.g. ``"vps"``.
    value : object
        The offending value, as received.
    rule : str
        The rule in words, e.g. ``"pain score must be a number from 0 to 10"``.

    The message reads ``vps: 11 is not allowed — pain score must be a number from 0 to 10``.
    Importers prefix it with the file and line; forms show ``rule`` beside the field.
    """

    def __init__(self, field: str, value: object, rule: str):
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {value!r} is not allowed — {rule}")

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "value": self.value, "rule": self.rule}
