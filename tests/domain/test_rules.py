from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vertebro.domain import rules
from vertebro.domain.eligibility import assess_eligibility
from vertebro.domain.errors import DomainError
from vertebro.domain.levels import cpt_codes, parse_level, parse_levels
from vertebro.domain.vocabulary import ETIOLOGY, VENUE


@pytest.mark.parametrize("value", [11, -1, "eleven", "", None, float("nan"), True])
def test_score_outside_zero_to_ten_names_field_value_and_rule(value):
    with pytest.raises(DomainError) as error:
        rules.parse_score(value)
    assert error.value.field == "vps"
    assert "0 to 10" in str(error.value)


@given(st.floats(min_value=0, max_value=10))
def test_every_score_in_range_is_kept_exactly(score):
    assert rules.parse_score(score) == score


OTHER_DIGITS = st.text(alphabet=st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()), min_size=1, max_size=3)


@given(OTHER_DIGITS)
def test_numbers_in_other_digits_than_ascii_are_refused_by_every_numeric_rule(digits):
    # float() reads '٣' as 3.0 and '１０' as 10.0; a registry field never does.
    for parse in (rules.parse_score, rules.parse_age, rules.parse_cement_ml, rules.parse_height_loss):
        with pytest.raises(DomainError, match="written with the digits 0-9"):
            parse(digits)


def test_vas_in_millimetres_is_checked_on_its_own_scale():
    assert rules.parse_score(73, scale=100) == 73
    with pytest.raises(DomainError, match="0 to 100"):
        rules.parse_score(101, scale=100)


@pytest.mark.parametrize("value", [-1, 121, 72.5, "old"])
def test_age_must_be_whole_years_in_range(value):
    with pytest.raises(DomainError, match="age"):
        rules.parse_age(value)


def test_dates_must_be_iso_and_plausible():
    assert rules.parse_date("2012-03-04", field="assessed_on") == date(2012, 3, 4)
    with pytest.raises(DomainError, match="YYYY-MM-DD"):
        rules.parse_date("04/03/2012", field="assessed_on")
    with pytest.raises(DomainError, match="between"):
        rules.parse_date("1890-01-01", field="assessed_on")
    with pytest.raises(DomainError, match="between"):
        rules.parse_date("2999-01-01", field="assessed_on", today=date(2026, 1, 1))


def test_baseline_after_the_procedure_is_refused():
    rules.check_baseline_before_procedure(0)
    with pytest.raises(DomainError, match="on or before the procedure"):
        rules.check_baseline_before_procedure(1)


def test_pathologic_fracture_needs_cause_and_basis_and_others_take_none():
    rules.check_pathology("pathologic", "metastasis", "biopsy")
    rules.check_pathology("osteoporotic", None, None)
    with pytest.raises(DomainError, match="cause"):
        rules.check_pathology("pathologic", None, "biopsy")
    with pytest.raises(DomainError, match="only a pathologic"):
        rules.check_pathology("osteoporotic", "metastasis", None)


def test_fixed_fields_must_agree_across_a_patients_rows():
    assert rules.check_consistent("sex", ["F", "F", None], patient_id="VP1") == "F"
    with pytest.raises(DomainError, match="VP1 has conflicting values") as error:
        rules.check_consistent("sex", ["F", "M"], patient_id="VP1")
    assert error.value.value == "F / M"


def test_age_at_counts_birthdays_not_yet_reached():
    assert rules.age_at(date(1940, 6, 15), date(2012, 6, 14)) == 71
    assert rules.age_at(date(1940, 6, 15), date(2012, 6, 15)) == 72


def test_vocabularies_accept_codes_and_labels_and_name_the_choices():
    assert ETIOLOGY.parse("Osteoporotic (insufficiency)") == "osteoporotic"
    assert VENUE.parse("pain clinic") == "pain_clinic"
    assert VENUE.parse("Pain management clinic") == "pain_clinic"
    with pytest.raises(DomainError, match="etiology must be one of: osteoporotic, pathologic"):
        ETIOLOGY.parse("metastatic")


def test_levels_parse_and_bill():
    assert parse_level(" l1 ") == "L1"
    assert parse_levels("L1, T12") == ("T12", "L1")
    with pytest.raises(DomainError, match="C1–C7"):
        parse_level("T13")
    assert cpt_codes(("L2", "L1")) == ["22511", "22512"]
    assert cpt_codes(("T8",), kind="kyphoplasty") == ["22513"]


def test_absolute_contraindication_blocks_and_relative_only_cautions():
    verdict = assess_eligibility(indications=["osteoporotic_refractory"], absolute=["coagulopathy"], relative=[])
    assert verdict.blocked and not verdict.eligible
    assert "coagulopathy" in verdict.reasons[0].lower()
    verdict = assess_eligibility(indications=["osteoporotic_refractory"], absolute=[], relative=["radicular_pain"])
    assert verdict.eligible and not verdict.blocked and verdict.cautions
    assert not assess_eligibility(indications=[], absolute=[], relative=[]).eligible


@pytest.mark.parametrize("text", ["2012-03-04", "2012-03-04 00:00:00", "2012-03-04T00:00", "2012-03-04 13:45:10.5",
                                  "2012-03-04T10:30:00Z", "2012-03-04T10:30:00+02:00", "2012-03-04T23:30-0500"])
def test_an_iso_date_may_carry_the_time_a_spreadsheet_adds(text):
    assert rules.parse_iso_date(text, field="assessed_on") == date(2012, 3, 4)


@pytest.mark.parametrize("text", ["2010-01-05 and 06", "2010-01-05x", "20100105", "2010-1-5", "2012-03-04 25:00", ""])
def test_text_around_or_instead_of_a_date_is_refused(text):
    with pytest.raises(DomainError, match="a date must be written YYYY-MM-DD"):
        rules.parse_iso_date(text, field="assessed_on")


def test_a_day_the_calendar_does_not_have_is_named_as_such():
    with pytest.raises(DomainError, match="this day is not in the calendar"):
        rules.parse_date("2007-02-30", field="assessed_on")
