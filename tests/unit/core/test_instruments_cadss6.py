"""CADSS-6: item mapping to the 23-item CADSS, 0-4 ratings, total 0-24, text not shipped."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments
from tenfour.core.errors import CoreError


def test_items_are_cadss_1_2_6_7_15_22():
    form = instruments.get("cadss6")
    assert form.item_ids == ("q1", "q2", "q6", "q7", "q15", "q22")
    assert [i.source_number for i in form.items] == [1, 2, 6, 7, 15, 22]
    assert [i.number for i in form.items] == [1, 2, 3, 4, 5, 6]
    assert all(i.values == frozenset(range(5)) for i in form.items)


def test_text_is_not_shipped():
    form = instruments.get("cadss6")
    assert form.text_shipped is False
    assert "Bremner" in form.text_source
    assert [i.text for i in form.items] == [f"CADSS item {n}" for n in (1, 2, 6, 7, 15, 22)]
    assert form.administration == "clinician-administered"


def test_hand_computed_total():
    result = instruments.score("cadss6", {"q1": 2, "q2": 1, "q6": 0, "q7": 3, "q15": 4, "q22": 0})
    assert result.total == 10 and result.max_total == 24
    assert result.band is None and result.flags == []


def test_extremes():
    assert instruments.score("cadss6", {k: 0 for k in ("q1", "q2", "q6", "q7", "q15", "q22")}).total == 0
    assert instruments.score("cadss6", {k: 4 for k in ("q1", "q2", "q6", "q7", "q15", "q22")}).total == 24


def test_items_outside_the_short_form_are_unknown():
    answers = {k: 0 for k in ("q1", "q2", "q6", "q7", "q15", "q22")}
    answers["q3"] = 1
    answers["q15"] = 5
    with pytest.raises(CoreError) as excinfo:
        instruments.score("cadss6", answers)
    found = [(p.field, p.rule) for p in excinfo.value.problems]
    assert found == [("q15", "out_of_range"), ("q3", "unknown_item")]


@given(answers=st.fixed_dictionaries({k: st.integers(0, 4) for k in ("q1", "q2", "q6", "q7", "q15", "q22")}))
def test_properties_of_every_valid_answer_set(answers):
    result = instruments.score("cadss6", answers)
    assert result.total == sum(answers.values())
    assert 0 <= result.total <= 24
