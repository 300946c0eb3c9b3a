"""EQ-5D-5L value sets: the published decrements, each with its source.

Both value sets here are additive main-effects models: ``index = 1 - sum of the decrements of the
levels above 1`` (level 1 of every dimension has no decrement; 11111 is 1). Dimensions in the order
of the descriptive system: MO mobility, SC self-care, UA usual activities, PD pain/discomfort, AD
anxiety/depression.

Where each number was verified
------------------------------
* **United States** — Pickard AS, Law EH, Jiang R, et al. United States valuation of EQ-5D-5L health
  states using an international protocol. Value Health 2019;22(8):931-941 (the final model's table).
  The paper's table itself was not reachable from this workplace; the decrements were read from the
  transcription of that table in the eq5d R package (data-raw/VT.csv, column USA, which cites the
  paper) and agree with the package's published examples (55555 = -0.573, 21354 = 0.090). No
  intercept: the model has none.
* **England** — Devlin NJ, Shah KK, Feng Y, Mulhern B, van Hout B. Valuing health-related quality of
  life: an EQ-5D-5L value set for England. Health Econ 2018;27(1):7-22 (the 20-parameter hybrid
  model). Decrements from the same transcription (column England); they reproduce what the paper's
  abstract publishes: values from -0.285 (55555) to 0.950 (the abstract names 11211 and "21111";
  21111 is 0.942 and 12111 is the other 0.950 state, so the abstract's "21111" reads as 12111), and
  5.1% of the 3,125 states worse than dead (159 states). This is the Health Economics 2018 version,
  not the 2016 discussion paper (-0.281 to 0.951). NICE has not adopted it for reference-case
  appraisals (it recommends the 3L crosswalk); it is offered for comparison with English series.

The van Hout 2012 crosswalk is a table of 3,125 values per country, not a model, and was not
transcribed: it is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

__all__ = ["DIMENSIONS", "VALUE_SETS", "ValueSet"]

#: Dimension codes in descriptive-system order.
DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")

_US_SOURCE = "Pickard et al., Value Health 2019;22:931-941 (via eq5d R package data-raw/VT.csv, column USA)"
_EN_SOURCE = "Devlin et al., Health Econ 2018;27:7-22 (via eq5d R package data-raw/VT.csv, column England)"


@dataclass(frozen=True)
class Decrement:
    """The decrement of one dimension at one level, and where it comes from."""

    dimension: str
    level: int
    value: float
    source: str


@dataclass(frozen=True)
class ValueSet:
    """An additive EQ-5D-5L value set.

    Attributes
    ----------
    code : str
        ``us`` or ``england``: the suffix of the measure ``eq5d5l_index_<code>``.
    name : str
        Country and publication.
    decrements : tuple of Decrement
        Four per dimension (levels 2–5).
    published_examples : tuple of (str, float)
        States and the values the sources publish, to three decimals: the tests reproduce them.
    """

    code: str
    name: str
    decrements: tuple[Decrement, ...]
    published_examples: tuple[tuple[str, float], ...]

    def index(self, state: str) -> float:
        """The value of a five-digit state such as ``"21354"`` (not rounded)."""
        table = self._table
        return 1.0 - sum(table[(dimension, int(level))] for dimension, level in zip(DIMENSIONS, state) if level != "1")

    @cached_property
    def _table(self) -> dict[tuple[str, int], float]:
        return {(d.dimension, d.level): d.value for d in self.decrements}

    @property
    def worst(self) -> float:
        return self.index("55555")


def _decrements(source: str, **levels: tuple[float, float, float, float]) -> tuple[Decrement, ...]:
    return tuple(
        Decrement(dimension, level, value, source)
        for dimension in DIMENSIONS
        for level, value in zip((2, 3, 4, 5), levels[dimension])
    )


US = ValueSet(
    code="us",
    name="United States (Pickard et al. 2019)",
    decrements=_decrements(
        _US_SOURCE,
        MO=(0.096, 0.122, 0.237, 0.322),
        SC=(0.089, 0.107, 0.220, 0.261),
        UA=(0.068, 0.101, 0.255, 0.255),
        PD=(0.060, 0.098, 0.318, 0.414),
        AD=(0.057, 0.123, 0.299, 0.321),
    ),
    published_examples=(
        ("11111", 1.000), ("21111", 0.904), ("12111", 0.911), ("11211", 0.932), ("11121", 0.940),
        ("11112", 0.943), ("21354", 0.090), ("55555", -0.573),
    ),  # fmt: skip
)

ENGLAND = ValueSet(
    code="england",
    name="England (Devlin et al. 2018)",
    decrements=_decrements(
        _EN_SOURCE,
        MO=(0.058, 0.076, 0.207, 0.274),
        SC=(0.050, 0.080, 0.164, 0.203),
        UA=(0.050, 0.063, 0.162, 0.184),
        PD=(0.063, 0.084, 0.276, 0.335),
        AD=(0.078, 0.104, 0.285, 0.289),
    ),
    published_examples=(
        ("11111", 1.000), ("11211", 0.950), ("12111", 0.950), ("21111", 0.942), ("11121", 0.937),
        ("11112", 0.922), ("23245", 0.247), ("55555", -0.285),
    ),  # fmt: skip
)

#: Every value set offered, by code.
VALUE_SETS: dict[str, ValueSet] = {value_set.code: value_set for value_set in (US, ENGLAND)}
