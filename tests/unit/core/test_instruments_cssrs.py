"""C-SSRS screener: every risk path, flags and skip logic."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments
from tenfour.core.errors import CoreError

NO_ALL = {"q1": 0, "q2": 0, "q6": 0}
BOTH = ["suicidal_ideation", "imminent_risk"]


def score(**answers):
    return instruments.score("cssrs-screen", answers)


def problems(**answers):
    with pytest.raises(CoreError) as excinfo:
        instruments.score("cssrs-screen", answers)
    return [(p.field, p.rule) for p in excinfo.value.problems]


def test_text_is_not_shipped_and_labels_are_neutral():
    form = instruments.get("cssrs-screen")
    assert form.text_shipped is False
    assert "Columbia Lighthouse Project" in form.text_source
    assert form.item_ids == ("q1", "q2", "q3", "q4", "q5", "q6", "q6_recent")
    assert all(not item.text.endswith("?") for item in form.items)
    assert [(o.value, o.label) for o in form.item("q1").options] == [(1, "Yes"), (0, "No")]


@pytest.mark.parametrize(
    "answers,level,flags",
    [
        # all no
        ({"q1": 0, "q2": 0, "q6": 0}, "none", []),
        # Q1 or Q2 yes only -> low
        ({"q1": 1, "q2": 0, "q6": 0}, "low", ["suicidal_ideation"]),
        ({"q1": 0, "q2": 1, "q3": 0, "q4": 0, "q5": 0, "q6": 0}, "low", ["suicidal_ideation"]),
        ({"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q5": 0, "q6": 0}, "low", ["suicidal_ideation"]),
        # Q3 yes -> moderate
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 0}, "moderate", ["suicidal_ideation"]),
        # behaviour more than 3 months ago -> moderate (no ideation flag without Q1/Q2)
        ({"q1": 0, "q2": 0, "q6": 1, "q6_recent": 0}, "moderate", []),
        ({"q1": 1, "q2": 0, "q6": 1, "q6_recent": 0}, "moderate", ["suicidal_ideation"]),
        # Q4, Q5 or behaviour within 3 months -> high, imminent
        ({"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 0, "q6": 0}, "high", BOTH),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 1, "q6": 0}, "high", BOTH),
        ({"q1": 0, "q2": 0, "q6": 1, "q6_recent": 1}, "high", ["imminent_risk"]),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 1, "q6_recent": 1}, "high", BOTH),
        # the highest level wins: Q3 (moderate) with recent behaviour (high)
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 1, "q6_recent": 1}, "high", BOTH),
    ],
)
def test_risk_paths(answers, level, flags):
    result = instruments.score("cssrs-screen", answers)
    assert result.risk_level == level
    assert result.flags == flags
    assert result.total is None and result.max_total is None and result.band is None


def test_q2_no_skips_q3_to_q5_and_q6_no_skips_recent():
    result = score(**NO_ALL)
    assert result.skipped_items == ["q3", "q4", "q5", "q6_recent"]
    assert result.answered_items == {"q1": 0, "q2": 0, "q6": 0}


def test_answering_q3_to_q5_after_q2_no_breaks_skip_logic():
    assert problems(**NO_ALL, q3=0, q4=1, q5=0) == [
        ("q3", "skip_logic"), ("q4", "skip_logic"), ("q5", "skip_logic"),
    ]


def test_q2_yes_requires_q3_to_q5():
    assert problems(q1=1, q2=1, q6=0) == [("q3", "required"), ("q4", "required"), ("q5", "required")]


def test_q6_yes_requires_the_3_month_question_and_q6_no_forbids_it():
    assert problems(q1=0, q2=0, q6=1) == [("q6_recent", "required")]
    assert problems(q1=0, q2=0, q6=0, q6_recent=1) == [("q6_recent", "skip_logic")]


def test_missing_or_invalid_q2_does_not_add_skip_errors():
    assert problems(q1=0, q3=1, q6=0) == [("q2", "required")]
    assert problems(q1=0, q2=2, q6=0) == [("q2", "out_of_range")]
    assert problems(q1=0, q2=True, q3="yes", q6=0) == [("q2", "not_an_integer"), ("q3", "not_an_integer")]


def test_everything_wrong_at_once():
    assert problems(q1=2, q2=0, q4=1, q6=1, q7=0) == [
        ("q1", "out_of_range"), ("q4", "skip_logic"), ("q6_recent", "required"), ("q7", "unknown_item"),
    ]


def test_skip_logic_message_names_the_condition():
    with pytest.raises(CoreError) as excinfo:
        score(**NO_ALL, q3=1)
    assert "q3: must be left blank: it is asked only when q2 is Yes" in str(excinfo.value)


@st.composite
def valid_answers(draw):
    yes_no = st.integers(0, 1)
    answers = {"q1": draw(yes_no), "q2": draw(yes_no)}
    if answers["q2"] == 1:
        answers.update(q3=draw(yes_no), q4=draw(yes_no), q5=draw(yes_no))
    answers["q6"] = draw(yes_no)
    if answers["q6"] == 1:
        answers["q6_recent"] = draw(yes_no)
    return answers


@given(answers=valid_answers())
def test_properties_of_every_valid_answer_set(answers):
    result = instruments.score("cssrs-screen", answers)
    high = answers.get("q4") == 1 or answers.get("q5") == 1 or answers.get("q6_recent") == 1
    moderate = answers.get("q3") == 1 or answers["q6"] == 1
    low = answers["q1"] == 1 or answers["q2"] == 1
    expected = "high" if high else "moderate" if moderate else "low" if low else "none"
    assert result.risk_level == expected
    assert ("imminent_risk" in result.flags) == high
    assert ("suicidal_ideation" in result.flags) == low
    assert result.answered_items == answers
