import pytest
from hypothesis import given
from hypothesis import strategies as st

from vertebro.domain.errors import DomainError
from vertebro.domain.timepoints import (
    BY_CODE,
    SCHEDULE,
    TIMEPOINT_CODES,
    UNSCHEDULED,
    check_timepoint_matches_days,
    derive_timepoint,
)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-30, "baseline"), (-1, "baseline"), (1, "post"), (2, "post"), (3, "1w"), (14, "1w"), (15, "1m"),
     (60, "1m"), (61, "3m"), (135, "3m"), (136, "6m"), (270, "6m"), (271, "12m"), (545, "12m"),
     (-31, UNSCHEDULED), (546, UNSCHEDULED)],
)
def test_window_edges_follow_design(days, expected):
    assert derive_timepoint(days) == expected


def test_procedure_day_needs_to_be_told_before_or_after():
    with pytest.raises(DomainError, match="procedure day"):
        derive_timepoint(0)
    assert derive_timepoint(0, after_procedure=False) == "baseline"
    assert derive_timepoint(0, after_procedure=True) == "post"


@given(st.integers(min_value=-5000, max_value=5000).filter(lambda d: d != 0))
def test_derived_timepoint_window_contains_the_day(days):
    code = derive_timepoint(days)
    if code == UNSCHEDULED:
        assert not any(tp.contains(days) for tp in SCHEDULE)
    else:
        assert BY_CODE[code].contains(days)
        check_timepoint_matches_days(code, days)  # a derived timepoint is always accepted back


@given(st.integers(min_value=-5000, max_value=5000).filter(lambda d: d != 0))
def test_every_nonzero_day_has_exactly_one_scheduled_window_or_none(days):
    containing = [tp.code for tp in SCHEDULE if tp.contains(days)]
    assert len(containing) <= 1


@given(st.sampled_from([tp.code for tp in SCHEDULE]), st.integers(min_value=-1000, max_value=1000))
def test_stated_timepoint_is_refused_outside_its_window(code, days):
    if BY_CODE[code].contains(days):
        check_timepoint_matches_days(code, days)
    else:
        with pytest.raises(DomainError) as error:
            check_timepoint_matches_days(code, days)
        assert error.value.field == "timepoint" and f"day {days}" in error.value.rule


def test_windows_are_contiguous_from_baseline_to_one_year():
    for earlier, later in zip(SCHEDULE[1:], SCHEDULE[2:]):
        assert later.first_day == earlier.last_day + 1
    assert TIMEPOINT_CODES[-1] == UNSCHEDULED


def test_unknown_timepoint_is_named_in_the_error():
    with pytest.raises(DomainError, match="timepoint must be one of"):
        check_timepoint_matches_days("2w", 10)
