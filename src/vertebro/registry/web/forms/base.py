"""What every form of the app shares: plain-words errors beside the field, dates, and turning a
service's refusal (a ``DomainError`` or a model ``ValidationError``) into errors on the right fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from ....domain.errors import DomainError
from ....domain.rules import EARLIEST_DATE, check_date_plausible

T = TypeVar("T")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def date_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    what = label[:1].lower() + label[1:]
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput(),
        help_text=help_text,
        error_messages={
            "required": f"Enter the {what}.",
            "invalid": "Write the date as YYYY-MM-DD, for example 2024-03-31.",
        },
    )


def choice_field(  # noqa: PLR0913
    label: str, choices, *, required: bool = True, blank: str = "—", radio: bool = False, help_text: str = "", required_message: str = ""  # noqa: ANN001
) -> forms.ChoiceField:
    options = list(choices) if required or radio else [("", blank), *choices]
    return forms.ChoiceField(
        label=label,
        choices=options,
        required=required,
        widget=forms.RadioSelect if radio else forms.Select,
        help_text=help_text,
        error_messages={
            "required": required_message or f"Choose the {label[:1].lower() + label[1:]}.",
            "invalid_choice": "Choose one of the options in the list.",
        },
    )


def yes_no_field(label: str, *, help_text: str = "") -> forms.TypedChoiceField:
    """A required yes/no question asked with two radio buttons (a checkbox cannot tell "no" from "not asked")."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("no", "No"), ("yes", "Yes")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        help_text=help_text,
        error_messages={"required": "Answer yes or no."},
    )


def check_ascii_digits(value: object) -> None:
    """Refuse a number typed with anything but ASCII characters: Python reads '٣' and '１０' as 3 and 10,
    which a person checking the form would not, and a copy-paste from a document can carry them."""
    if isinstance(value, str):
        foreign = next((char for char in value if not char.isascii()), None)
        if foreign is not None:
            raise ValidationError(f"Type the number with the digits 0–9: “{foreign}” is not one of them.", code="not_ascii")


class AsciiFloatField(forms.FloatField):
    def to_python(self, value):  # noqa: ANN001, ANN201
        check_ascii_digits(value)
        return super().to_python(value)


class AsciiIntegerField(forms.IntegerField):
    def to_python(self, value):  # noqa: ANN001, ANN201
        check_ascii_digits(value)
        return super().to_python(value)


def number_field(label: str, *, required: bool = False, help_text: str = "", what: str = "a number") -> forms.FloatField:
    return AsciiFloatField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
        error_messages={"required": f"Enter {what}.", "invalid": f"Enter {what}, using digits (for example 4.5)."},
    )


def plausible_date(value: date | None, field: str, *, earliest: date = EARLIEST_DATE) -> date | None:
    """A date between ``earliest`` (1980 for clinical dates) and today, with the rule in words when it is not."""
    if value is None:
        return None
    if value > date.today():
        raise ValidationError("This date is in the future; enter the date it actually happened.")
    try:
        check_date_plausible(value, field=field, earliest=earliest)
    except DomainError as error:
        raise ValidationError(sentence(error.rule)) from None
    return value


def sentence(rule: str) -> str:
    """A rule as a sentence: capital first letter, full stop."""
    text = rule.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def checked(call: Callable[[], T], form: forms.Form, field: str) -> T | None:
    """Run a domain rule; on :class:`DomainError` put its rule beside ``field`` and return None."""
    try:
        return call()
    except DomainError as error:
        form.add_error(field if field in form.fields else None, sentence(error.rule))
        return None


def add_service_error(form: forms.Form, error: Exception, field_names: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: beside the field it names when the form has that field,
    else at the top of the form. ``field_names`` maps service field names to form field names."""
    field_names = field_names or {}
    if isinstance(error, DomainError):
        name = field_names.get(error.field, error.field)
        form.add_error(name if name in form.fields else None, sentence(error.rule))
    elif isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = field_names.get(name, name)
            for message in messages:
                form.add_error(target if target in form.fields and name != NON_FIELD_ERRORS else None, sentence(message))
    else:
        for message in getattr(error, "messages", [str(error)]):
            form.add_error(None, sentence(message))


class VersionedForm(forms.Form):
    """An edit form: carries the version of the record it was loaded from (optimistic locking)."""

    version = AsciiIntegerField(widget=forms.HiddenInput, min_value=1)
