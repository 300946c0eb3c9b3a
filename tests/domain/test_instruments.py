"""Instrument definitions score at the edges as their publications say (issue 10)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from vertebro.domain.errors import DomainError
from vertebro.domain.instruments import INSTRUMENTS, MEASURES, load_wording
from vertebro.domain.instruments.analgesics import BY_DRUG
from vertebro.domain.instruments.eq5d_value_sets import ENGLAND, US, VALUE_SETS

RDQ, ODI, EQ5D, ANALGESICS = (INSTRUMENTS[code] for code in ("rdq24", "odi", "eq5d5l", "analgesics"))
ALL_STATES = ["".join(map(str, levels)) for levels in itertools.product(range(1, 6), repeat=5)]


def odi(*sections):
    return {f"odi_{number:02d}": value for number, value in enumerate(sections, start=1)}


def eq5d(state: str, vas=None):
    codes = [item.code for item in EQ5D.items[:5]]
    return {**dict(zip(codes, map(int, state))), "eq5d_vas": vas}


# --- RDQ-24 -------------------------------------------------------------------------------------


def test_rdq_counts_ticked_statements():
    assert RDQ.score({f"rdq_{n:02d}": 1 for n in range(1, 25)}).values["rdq"] == 24
    assert RDQ.score({f"rdq_{n:02d}": 0 for n in range(1, 25)}).values["rdq"] == 0
    assert RDQ.score({f"rdq_{n:02d}": n % 2 for n in range(1, 25)}).values["rdq"] == 12


def test_rdq_with_every_item_unanswered_has_no_score():
    result = RDQ.score({})
    assert result.values["rdq"] is None and "no item answered" in result.notes[0]


def test_rdq_unanswered_items_count_as_not_ticked_and_say_so():
    answers = {f"rdq_{n:02d}": 1 for n in range(1, 21)}  # 21-24 left blank
    result = RDQ.score(answers)
    assert result.values["rdq"] == 20
    assert result.notes == ("RDQ: 4 unanswered items counted as not ticked",)


def test_rdq_refuses_an_answer_other_than_yes_or_no_by_item():
    with pytest.raises(DomainError) as caught:
        RDQ.score({"rdq_07": 2})
    assert caught.value.field == "rdq_07" and "must be one of 0" in caught.value.rule


# --- ODI 2.1a -----------------------------------------------------------------------------------


def test_odi_index_is_sum_over_five_times_sections_answered():
    assert ODI.score(odi(*[0] * 10)).values["odi"] == 0
    assert ODI.score(odi(*[5] * 10)).values["odi"] == 100
    assert ODI.score(odi(3, 2, 4, 1, 2, 3, 2, 0, 1, 2)).values["odi"] == pytest.approx(40.0)


def test_odi_with_one_section_missing_divides_by_nine_answered():
    answers = odi(3, 2, 4, 1, 2, 3, 2, None, 1, 2)  # sex life not applicable
    result = ODI.score(answers)
    assert result.values["odi"] == pytest.approx(100 * 20 / 45)  # 44.44...: not rounded
    assert "one section missing" in result.notes[0]


def test_odi_with_two_sections_missing_has_no_index():
    result = ODI.score(odi(3, 2, 4, 1, 2, 3, 2, None, None, 2))
    assert result.values["odi"] is None and "2 of 10 sections missing" in result.notes[0]


def test_odi_with_every_section_missing_has_no_index():
    assert ODI.score({}).values["odi"] is None


def test_odi_refuses_a_section_score_of_six_or_a_fraction():
    for bad in (6, 2.5, "x", -1):
        with pytest.raises(DomainError):
            ODI.score(odi(bad))


def test_odi_carries_its_published_titles_and_loinc_score_code_but_no_licensed_wording():
    assert [item.title for item in ODI.items][:3] == ["Pain intensity", "Personal care (washing, dressing, etc.)", "Lifting"]
    assert {code.code for code in MEASURES["odi"].codes} == {"97909-6"}
    assert all("statement" in option.label for item in ODI.items for option in item.options)


# --- EQ-5D-5L -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", list(VALUE_SETS.values()), ids=lambda v: v.code)
def test_published_example_states_are_reproduced_exactly(value_set):
    for state, published in value_set.published_examples:
        assert round(value_set.index(state), 3) == published, state


@pytest.mark.parametrize("value_set", list(VALUE_SETS.values()), ids=lambda v: v.code)
def test_every_one_of_the_3125_states_lies_within_the_value_sets_range(value_set):
    measure = MEASURES[f"eq5d5l_index_{value_set.code}"]
    values = {state: EQ5D.score(eq5d(state)).values[measure.code] for state in ALL_STATES}
    assert len(values) == 3125
    assert all(measure.minimum - 1e-12 <= v <= 1 for v in values.values())
    # 55555 is the lowest value (the US set ties it with 55455: usual activities 4 and 5 share 0.255).
    assert values["11111"] == 1 and values["55555"] == min(values.values())


@pytest.mark.parametrize("value_set", list(VALUE_SETS.values()), ids=lambda v: v.code)
def test_a_worse_level_on_any_dimension_never_raises_the_value(value_set):
    for state in ALL_STATES:
        for position, level in enumerate(state):
            if level != "5":
                worse = state[:position] + str(int(level) + 1) + state[position + 1 :]
                assert value_set.index(worse) <= value_set.index(state) + 1e-12


def test_england_value_set_matches_the_papers_published_summary():
    # Devlin 2018 abstract: -0.285 to 0.950, 5.1% of states worse than dead.
    values = [ENGLAND.index(state) for state in ALL_STATES]
    assert round(min(values), 3) == -0.285
    assert round(sorted(values)[-2], 3) == 0.950
    worse_than_dead = sum(v < 0 for v in values)
    assert worse_than_dead == 159 and round(100 * worse_than_dead / 3125, 1) == 5.1


def test_us_value_set_worst_state():
    assert round(US.worst, 3) == -0.573


def test_every_decrement_names_its_source():
    for value_set in VALUE_SETS.values():
        assert len(value_set.decrements) == 20
        assert all(d.source and d.value > 0 for d in value_set.decrements)


def test_eq5d_needs_all_five_dimensions_for_an_index_but_not_for_the_vas():
    answers = eq5d("21354", vas=65)
    answers["eq5d_self_care"] = None
    result = EQ5D.score(answers)
    assert result.values["eq5d5l_index_us"] is None and result.values["eq5d5l_vas"] == 65
    assert "Self-care" in result.notes[0]


def test_eq5d_refuses_level_six_and_a_vas_above_100():
    with pytest.raises(DomainError):
        EQ5D.score(eq5d("61111"))
    with pytest.raises(DomainError) as caught:
        EQ5D.score(eq5d("11111", vas=101))
    assert caught.value.field == "eq5d_vas"


# --- analgesics ---------------------------------------------------------------------------------


def med(drug, dose=None, unit="mg", route="oral", per_day=None):
    return {"drug": drug, "dose": dose, "unit": unit, "route": route, "doses_per_day": per_day}


def test_mme_reproduces_the_cdc_2022_table_examples():
    # "hydrocodone 5 mg ... four times a day ... 20 MME daily; oxycodone 10 mg twice a day ... 30 MME daily"
    assert ANALGESICS.score({"entries": [med("hydrocodone", 5, per_day=4)]}).values["mme_per_day"] == 20
    assert ANALGESICS.score({"entries": [med("oxycodone", 10, per_day=2)]}).values["mme_per_day"] == 30


def test_mme_sums_opioids_ignores_non_opioids_and_converts_a_fentanyl_patch_by_rate():
    entries = [med("tramadol", 50, per_day=4), med("fentanyl", 25, unit="mcg_per_hour", route="transdermal"),
               med("paracetamol", 1000, per_day=4)]  # fmt: skip
    assert ANALGESICS.score({"entries": entries}).values["mme_per_day"] == pytest.approx(50 * 4 * 0.2 + 25 * 2.4)


def test_no_analgesic_is_zero_and_no_record_is_unknown():
    assert ANALGESICS.score({"entries": [{"drug": "none"}]}).values["mme_per_day"] == 0
    assert ANALGESICS.score({"entries": []}).values["mme_per_day"] is None


def test_a_route_the_cdc_table_does_not_cover_makes_the_day_unknown_with_a_note():
    result = ANALGESICS.score({"entries": [med("morphine", 4, route="intravenous", per_day=6), med("codeine", 30, per_day=4)]})
    assert result.values["mme_per_day"] is None
    assert "route intravenous" in result.notes[0]


def test_every_opioid_factor_names_the_cdc_2022_table():
    factors = {d.code: d.oral_factor for d in BY_DRUG.values() if d.oral_factor is not None}
    assert factors == {"codeine": 0.15, "hydrocodone": 1.0, "hydromorphone": 5.0, "methadone": 4.7, "morphine": 1.0,
                       "oxycodone": 1.5, "oxymorphone": 3.0, "tapentadol": 0.4, "tramadol": 0.2}  # fmt: skip
    assert all("CDC 2022" in d.source for d in BY_DRUG.values() if d.oral_factor or d.transdermal_factor)


def test_a_drug_is_accepted_by_code_or_label_and_an_unknown_one_is_refused():
    assert ANALGESICS.parse_answers({"entries": [{"drug": "Oxycodone"}]})["entries"][0]["drug"] == "oxycodone"
    with pytest.raises(DomainError) as caught:
        ANALGESICS.score({"entries": [{"drug": "aspirin-codeine-mix"}]})
    assert caught.value.field == "drug"


# --- the definitions as data --------------------------------------------------------------------


def test_measure_codes_are_unique_and_item_codes_are_valid_variable_names_everywhere():
    assert len(MEASURES) == sum(len(i.measures) for i in INSTRUMENTS.values())
    for instrument in INSTRUMENTS.values():
        for item in instrument.items:
            assert re.fullmatch(r"[a-z][a-z0-9_]{0,25}", item.code), item.code
        assert instrument.licence and instrument.scoring_rule and instrument.timepoints


def test_every_measure_declares_direction_range_and_an_mcid_or_why_not():
    for measure in MEASURES.values():
        assert measure.minimum < measure.maximum and measure.mcid_source
    assert (MEASURES["rdq"].mcid, MEASURES["odi"].mcid) == (5.0, 10.0)
    assert not MEASURES["odi"].higher_is_better and MEASURES["eq5d5l_index_us"].higher_is_better


def test_an_answer_for_an_item_the_instrument_does_not_have_is_refused():
    with pytest.raises(DomainError, match="has no item 'odi_11'"):
        ODI.score({"odi_11": 1})


# --- licensed wording ---------------------------------------------------------------------------


def wording_document(**changes):
    document = {
        "format": "vertebro.instrument-wording/1", "instrument": "odi", "version": "2.1a", "language": "en-GB",
        "licence": "Test licence (placeholder text, not the licensed statements)",
        "items": {item.code: {"text": f"Section {n}", "options": {str(v): f"statement {v}" for v in range(6)}}
                  for n, item in enumerate(ODI.items, start=1)},
    }  # fmt: skip
    document.update(changes)
    return document


def test_a_complete_wording_file_loads(tmp_path):
    path = tmp_path / "odi.en.json"
    path.write_text(json.dumps(wording_document()))
    wording = load_wording(path, INSTRUMENTS)
    assert wording.items["odi_04"] == "Section 4" and wording.option_text("odi_04", 5) == "statement 5"


def test_an_incomplete_or_mismatched_wording_file_is_refused_with_every_problem(tmp_path):
    document = wording_document(version="2.0", licence="")
    del document["items"]["odi_08"]
    del document["items"]["odi_02"]["options"]["3"]
    document["items"]["odi_99"] = {"text": "?"}
    path = tmp_path / "odi.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DomainError) as caught:
        load_wording(path, INSTRUMENTS)
    rule = caught.value.rule
    for expected in ("version '2.0'", "licence is required", "items.odi_08.text is missing",
                     "items.odi_02.options lacks the wording of answers 3", "items.odi_99"):  # fmt: skip
        assert expected in rule
    assert str(path) in str(caught.value)


def test_a_wording_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "odi.json"
    path.write_text('{"format": \n oops')
    with pytest.raises(DomainError, match="line 2"):
        load_wording(path, INSTRUMENTS)
