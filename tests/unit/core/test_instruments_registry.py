"""Registry and shared answer validation of the instruments."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments
from tenfour.core.errors import CoreError
from tenfour.core.instruments.base import band_for, check_bands

ALL_IDS = ["pcl5", "pcl5-week", "pcl5-8", "phq9", "gad7", "cssrs-screen", "cadss6"]


def problems_of(excinfo):
    return [(p.field, p.rule) for p in excinfo.value.problems]


def test_registry_lists_every_instrument_in_order():
    assert [i.id for i in instruments.all_instruments()] == ALL_IDS


@pytest.mark.parametrize("instrument_id", ALL_IDS)
def test_get_returns_the_instrument_and_checks_version(instrument_id):
    instrument = instruments.get(instrument_id)
    assert instrument.id == instrument_id
    assert instruments.get(instrument_id, version=instrument.version) is instrument
    with pytest.raises(CoreError) as excinfo:
        instruments.get(instrument_id, version="0-not-a-version")
    assert problems_of(excinfo) == [("version", "wrong_version")]


def test_unknown_instrument_is_refused():
    with pytest.raises(CoreError) as excinfo:
        instruments.score("bdi2", {})
    assert problems_of(excinfo) == [("instrument_id", "unknown_instrument")]


@pytest.mark.parametrize("instrument_id", ALL_IDS)
def test_definitions_are_consistent(instrument_id):
    instrument = instruments.get(instrument_id)
    numbers = [item.number for item in instrument.items]
    assert numbers == sorted(numbers)
    assert len(set(instrument.item_ids)) == len(instrument.items)
    if instrument.max_total is not None:
        assert instrument.max_total == sum(item.max_value for item in instrument.items)
    if not instrument.text_shipped:
        assert instrument.text_source
    assert instrument.licence and instrument.source


def test_licensed_texts_are_not_shipped_and_public_ones_are():
    shipped = {i.id: i.text_shipped for i in instruments.all_instruments()}
    assert shipped == {
        "pcl5": True, "pcl5-week": True, "pcl5-8": True, "phq9": True, "gad7": True,
        "cssrs-screen": False, "cadss6": False,
    }


def test_every_problem_is_reported_at_once():
    answers = {f"q{n}": 1 for n in range(1, 10)}
    del answers["q2"]  # required
    answers["q3"] = 4  # out of range
    answers["q4"] = True  # bool is not an integer
    answers["q5"] = 1.0  # float is not an integer
    answers["q6"] = "2"  # string is not an integer
    answers["q10"] = 1  # unknown item
    with pytest.raises(CoreError) as excinfo:
        instruments.score("phq9", answers, version="2")
    assert problems_of(excinfo) == [
        ("version", "wrong_version"),
        ("q2", "required"),
        ("q3", "out_of_range"),
        ("q4", "not_an_integer"),
        ("q5", "not_an_integer"),
        ("q6", "not_an_integer"),
        ("q10", "unknown_item"),
    ]
    assert "q2: must be answered" in str(excinfo.value)


def test_none_counts_as_unanswered():
    answers = {f"q{n}": 0 for n in range(1, 8)}
    answers["q7"] = None
    with pytest.raises(CoreError) as excinfo:
        instruments.score("gad7", answers)
    assert problems_of(excinfo) == [("q7", "required")]


def test_empty_answers_name_every_item():
    with pytest.raises(CoreError) as excinfo:
        instruments.score("pcl5", {})
    assert problems_of(excinfo) == [(f"q{n}", "required") for n in range(1, 21)]


def test_cutoff_only_for_the_20_item_pcl5_and_within_range():
    full = {f"q{n}": 0 for n in range(1, 21)}
    with pytest.raises(CoreError) as excinfo:
        instruments.score("phq9", {f"q{n}": 0 for n in range(1, 10)}, cutoff=10)
    assert problems_of(excinfo) == [("cutoff", "not_applicable")]
    with pytest.raises(CoreError) as excinfo:
        instruments.score("pcl5", full, cutoff=81)
    assert problems_of(excinfo) == [("cutoff", "out_of_range")]
    with pytest.raises(CoreError) as excinfo:
        instruments.score("pcl5", full, cutoff=True)
    assert problems_of(excinfo) == [("cutoff", "not_an_integer")]
    assert instruments.score("pcl5-week", full, cutoff=31).cutoff == 31


def test_band_helpers_refuse_gaps():
    from tenfour.core.instruments.base import Band

    with pytest.raises(ValueError):
        check_bands((Band("a", "A", 0, 4), Band("b", "B", 6, 10)), 10)
    with pytest.raises(ValueError):
        check_bands((Band("a", "A", 0, 4),), 10)
    with pytest.raises(ValueError):
        band_for(11, (Band("a", "A", 0, 10),))


@given(
    instrument_id=st.sampled_from([i for i in ALL_IDS if i != "cssrs-screen"]),
    bad=st.one_of(
        st.integers().filter(lambda v: not 0 <= v <= 4),
        st.booleans(),
        st.floats(allow_nan=False),
        st.text(max_size=3),
    ),
    data=st.data(),
)
def test_any_invalid_value_is_rejected_naming_its_item(instrument_id, bad, data):
    instrument = instruments.get(instrument_id)
    answers = {item.id: item.min_value for item in instrument.items}
    target = data.draw(st.sampled_from(instrument.item_ids))
    answers[target] = bad
    if isinstance(bad, int) and not isinstance(bad, bool) and bad in instrument.item(target).values:
        return  # still valid for this item
    with pytest.raises(CoreError) as excinfo:
        instruments.score(instrument_id, answers)
    [problem] = excinfo.value.problems
    assert problem.field == target
    assert problem.rule in {"out_of_range", "not_an_integer"}
    expected = "out_of_range" if isinstance(bad, int) and not isinstance(bad, bool) else "not_an_integer"
    assert problem.rule == expected
