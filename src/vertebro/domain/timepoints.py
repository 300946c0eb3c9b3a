"""Assessment timepoints and their windows in days from the procedure (DESIGN.md §2).

A window decides where an assessment belongs and when it falls due. Day 0 lies in both the baseline
window (a score taken before the procedure that day) and the post window (a score taken after it):
a date alone cannot tell them apart, so day 0 needs the caller to say which, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .errors import DomainError


@dataclass(frozen=True)
class Timepoint:
    """A scheduled timepoint.

    Attributes
    ----------
    code : str
        ``baseline``, ``post``, ``1w``, ``1m``, ``3m``, ``6m`` or ``12m``.
    label : str
        Human label.
    first_day, last_day : int
        The window, inclusive, in days from the procedure (negative is before it).
    """

    code: str
    label: str
    first_day: int
    last_day: int

    def contains(self, days: int) -> bool:
        return self.first_day <= days <= self.last_day

    def opens_on(self, procedure_date: date) -> date:
        return procedure_date + timedelta(days=self.first_day)

    def closes_on(self, procedure_date: date) -> date:
        return procedure_date + timedelta(days=self.last_day)


SCHEDULE: tuple[Timepoint, ...] = (
    Timepoint("baseline", "Baseline", -30, 0),
    Timepoint("post", "Post-procedure", 0, 2),
    Timepoint("1w", "1 week", 3, 14),
    Timepoint("1m", "1 month", 15, 60),
    Timepoint("3m", "3 months", 61, 135),
    Timepoint("6m", "6 months", 136, 270),
    Timepoint("12m", "12 months", 271, 545),
)
UNSCHEDULED = "unscheduled"
BY_CODE: dict[str, Timepoint] = {tp.code: tp for tp in SCHEDULE}
TIMEPOINT_CODES: tuple[str, ...] = tuple(BY_CODE) + (UNSCHEDULED,)
#: Follow-up timepoints in schedule order (everything after baseline).
FOLLOW_UP_CODES: tuple[str, ...] = tuple(tp.code for tp in SCHEDULE if tp.code != "baseline")


def derive_timepoint(days: int, *, after_procedure: bool | None = None) -> str:
    """The timepoint an assessment ``days`` from the procedure belongs to.

    Parameters
    ----------
    days : int
        Days from the procedure (assessment date − procedure date).
    after_procedure : bool, optional
        Only needed on day 0: ``True`` for a score taken after the procedure (post),
        ``False`` for one taken before it (baseline).

    Returns
    -------
    str
        A code of :data:`TIMEPOINT_CODES`; ``"unscheduled"`` outside every window.

    Raises
    ------
    DomainError
        On day 0 when ``after_procedure`` is not given.
    """
    if days == 0:
        if after_procedure is None:
            raise DomainError(
                "timepoint",
                None,
                "an assessment on the procedure day is baseline or post; give the timepoint",
            )
        return "post" if after_procedure else "baseline"
    for timepoint in SCHEDULE:
        if timepoint.contains(days):
            return timepoint.code
    return UNSCHEDULED


def check_timepoint_matches_days(timepoint: str, days: int) -> None:
    """Raise :class:`DomainError` when a stated timepoint disagrees with its window."""
    if timepoint not in TIMEPOINT_CODES:
        raise DomainError(
            "timepoint", timepoint, f"timepoint must be one of: {', '.join(TIMEPOINT_CODES)}"
        )
    if timepoint == UNSCHEDULED:
        return
    window = BY_CODE[timepoint]
    if not window.contains(days):
        raise DomainError(
            "timepoint",
            timepoint,
            f"an assessment on day {days} lies outside the {timepoint} window "
            f"({window.first_day}..{window.last_day} days from the procedure)",
        )


def schedule_order(code: str) -> int:
    """Sort key: schedule order, unscheduled last."""
    return TIMEPOINT_CODES.index(code)
