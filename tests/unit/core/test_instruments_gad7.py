"""GAD-7: wording, totals and every band edge (cutpoints 5, 10, 15)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments
from tenfour.core.errors import CoreError


def with_total(total):
    answers, left = {}, total
    for n in range(1, 8):
        answers[f"q{n}"] = min(3, left)
        left -= answers[f"q{n}"]
    assert left == 0
    return answers


def test_wording_and_options():
    form = instruments.get("gad7")
    assert [i.text for i in form.items] == [
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ]
    assert [o.value for o in form.item("q1").options] == [0, 1, 2, 3]
    assert form.max_total == 21


def test_hand_computed_example():
    # 1 + 2 + 2 + 1 + 0 + 3 + 1 = 10: moderate (cutpoint 10)
    result = instruments.score("gad7", {"q1": 1, "q2": 2, "q3": 2, "q4": 1, "q5": 0, "q6": 3, "q7": 1})
    assert result.total == 10
    assert result.band == "moderate" and result.band_label == "Moderate anxiety"
    assert result.flags == [] and result.subscales == {}


@pytest.mark.parametrize(
    "total,band",
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "severe"), (21, "severe")],
)
def test_band_edges(total, band):
    result = instruments.score("gad7", with_total(total))
    assert result.total == total and result.band == band


def test_value_3_is_the_top_option():
    with pytest.raises(CoreError) as excinfo:
        instruments.score("gad7", {**with_total(0), "q3": 4, "q5": -1})
    found = [(p.field, p.rule) for p in excinfo.value.problems]
    assert found == [("q3", "out_of_range"), ("q5", "out_of_range")]


@given(answers=st.fixed_dictionaries({f"q{n}": st.integers(0, 3) for n in range(1, 8)}))
def test_properties_of_every_valid_answer_set(answers):
    result = instruments.score("gad7", answers)
    total = sum(answers.values())
    assert result.total == total and 0 <= total <= 21
    expected = "minimal" if total < 5 else "mild" if total < 10 else "moderate" if total < 15 else "severe"
    assert result.band == expected
