"""PHQ-9: wording, column-tally scoring, every band edge, PHQ-2, item 9 flag."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments
from tenfour.core.instruments import phq9


def with_total(total):
    """Nine answers summing to ``total`` with item 9 at 0 (fill items 1-8 with 3s first)."""
    answers, left = {}, total
    for n in range(1, 9):
        answers[f"q{n}"] = min(3, left)
        left -= answers[f"q{n}"]
    assert left == 0
    answers["q9"] = 0
    return answers


def test_wording_options_and_recall():
    form = instruments.get("phq9")
    assert form.item("q1").text == "Little interest or pleasure in doing things"
    assert form.item("q9").text == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert [o.label for o in form.item("q4").options] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day",
    ]
    assert form.recall_period == "Last 2 weeks"
    assert "No permission required to reproduce, translate, display or distribute" in form.licence


def test_column_tally_example():
    # The PHQ-9 scoring guide: count the ticks in each column, multiply by the column value, add.
    # 2 x "Not at all", 3 x "Several days", 2 x "More than half the days", 2 x "Nearly every day":
    # 2*0 + 3*1 + 2*2 + 2*3 = 13 -> moderate.
    answers = {"q1": 2, "q2": 3, "q3": 3, "q4": 1, "q5": 0, "q6": 1, "q7": 2, "q8": 1, "q9": 0}
    result = instruments.score("phq9", answers)
    assert result.total == 13
    assert result.band == "moderate" and result.band_label == "Moderate depression"
    assert result.subscales == {"phq2": 5}
    assert result.flags == []


@pytest.mark.parametrize(
    "total,band",
    [
        (0, "minimal"), (4, "minimal"),
        (5, "mild"), (9, "mild"),
        (10, "moderate"), (14, "moderate"),
        (15, "moderately_severe"), (19, "moderately_severe"),
        (20, "severe"), (24, "severe"),
    ],
)
def test_band_edges(total, band):
    result = instruments.score("phq9", with_total(total))
    assert result.total == total and result.band == band


def test_maximum_is_27_severe_with_the_flag():
    result = instruments.score("phq9", {f"q{n}": 3 for n in range(1, 10)})
    assert (result.total, result.max_total, result.band) == (27, 27, "severe")
    assert result.subscales["phq2"] == 6


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_above_zero_flags_suicidal_ideation_whatever_the_total(item9):
    answers = {f"q{n}": 0 for n in range(1, 10)}
    answers["q9"] = item9
    result = instruments.score("phq9", answers)
    assert result.total == item9 and result.band == "minimal"
    assert result.flags == ["suicidal_ideation"]


def test_item9_zero_with_a_severe_total_raises_no_flag():
    result = instruments.score("phq9", with_total(24))
    assert result.band == "severe" and result.flags == []


def test_phq2_is_items_1_and_2():
    answers = {f"q{n}": 0 for n in range(1, 10)}
    answers.update(q1=3, q2=1, q3=3)
    assert instruments.score("phq9", answers).subscales == {"phq2": 4}


@given(answers=st.fixed_dictionaries({f"q{n}": st.integers(0, 3) for n in range(1, 10)}))
def test_properties_of_every_valid_answer_set(answers):
    result = instruments.score("phq9", answers)
    assert result.total == sum(answers.values())
    assert 0 <= result.total <= 27
    band = next(b for b in phq9.BANDS if b.low <= result.total <= b.high)
    assert result.band == band.code
    assert result.subscales["phq2"] == answers["q1"] + answers["q2"]
    assert ("suicidal_ideation" in result.flags) == (answers["q9"] > 0)
