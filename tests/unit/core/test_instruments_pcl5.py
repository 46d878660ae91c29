"""PCL-5 (past month, past week) and PCL-5-8: wording, totals, DSM-5 rule, cutoff, short-form mapping."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import instruments, policy
from tenfour.core.errors import CoreError
from tenfour.core.instruments import pcl5

CLUSTERS = {"B": range(1, 6), "C": range(6, 8), "D": range(8, 15), "E": range(15, 21)}


def answers_with(**ratings):
    """All 20 items 0, then the given items (``q3=2``)."""
    answers = {f"q{n}": 0 for n in range(1, 21)}
    answers.update(ratings)
    return answers


# The smallest answer set that meets the DSM-5 rule: 1 B, 1 C, 2 D, 2 E rated "Moderately".
MINIMAL_DSM5 = {"q1": 2, "q6": 2, "q8": 2, "q9": 2, "q15": 2, "q16": 2}


def test_official_wording_and_options():
    form = instruments.get("pcl5")
    assert len(form.items) == 20
    assert form.item("q1").text == "Repeated, disturbing, and unwanted memories of the stressful experience?"
    assert form.item("q3").text == (
        "Suddenly feeling or acting as if the stressful experience were actually happening again "
        "(as if you were actually back there reliving it)?"
    )
    assert form.item("q17").text == 'Being "superalert" or watchful or on guard?'
    assert form.item("q20").text == "Trouble falling or staying asleep?"
    assert [(o.value, o.label) for o in form.item("q5").options] == [
        (0, "Not at all"), (1, "A little bit"), (2, "Moderately"), (3, "Quite a bit"), (4, "Extremely"),
    ]
    assert form.stem == "In the past month, how much were you bothered by:"
    assert "in the past month." in form.instructions
    assert form.text_shipped and "public domain" in form.licence.lower()


def test_past_week_form_has_the_same_items_and_a_week_recall():
    month, week = instruments.get("pcl5"), instruments.get("pcl5-week")
    assert [(i.id, i.text, i.cluster) for i in week.items] == [(i.id, i.text, i.cluster) for i in month.items]
    assert week.stem == "In the past week, how much were you bothered by:"
    assert "in the past week." in week.instructions and "month" not in week.instructions
    assert week.recall_period == "Past week" and month.recall_period == "Past month"


@pytest.mark.parametrize("cluster,numbers", CLUSTERS.items())
def test_clusters(cluster, numbers):
    form = instruments.get("pcl5")
    assert [i.number for i in form.items if i.cluster == cluster] == list(numbers)


def test_all_extreme_and_all_zero():
    top = instruments.score("pcl5", {f"q{n}": 4 for n in range(1, 21)})
    assert (top.total, top.max_total) == (80, 80)
    assert top.subscales == {"B": 20, "C": 8, "D": 28, "E": 24}
    assert top.provisional_diagnosis is True and top.above_cutoff is True
    zero = instruments.score("pcl5", answers_with())
    assert zero.total == 0 and zero.provisional_diagnosis is False and zero.above_cutoff is False


def test_hand_computed_example():
    # B 3+2+1+3+2=11, C 4+3=7, D 0+2+3+1+2+3+1=12, E 2+0+3+3+2+4=14 -> 44
    ratings = [3, 2, 1, 3, 2, 4, 3, 0, 2, 3, 1, 2, 3, 1, 2, 0, 3, 3, 2, 4]
    result = instruments.score("pcl5", {f"q{n}": r for n, r in enumerate(ratings, start=1)})
    assert result.total == 44
    assert result.subscales == {"B": 11, "C": 7, "D": 12, "E": 14}
    assert result.provisional_diagnosis is True
    assert result.above_cutoff is True and result.cutoff == 33
    assert result.band is None and result.flags == []


class TestDsm5Rule:
    def test_minimal_set_meets_the_rule(self):
        result = instruments.score("pcl5", answers_with(**MINIMAL_DSM5))
        assert result.provisional_diagnosis is True
        assert result.total == 12 and result.above_cutoff is False  # diagnosis and cutoff are separate

    def test_exactly_one_b_is_enough(self):
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**MINIMAL_DSM5)) is True

    def test_zero_b_fails(self):
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**{**MINIMAL_DSM5, "q1": 1})) is False

    def test_zero_c_fails(self):
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**{**MINIMAL_DSM5, "q6": 0})) is False

    def test_one_d_fails_two_d_pass(self):
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**{**MINIMAL_DSM5, "q9": 1})) is False
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**{**MINIMAL_DSM5, "q9": 0, "q14": 2})) is True

    def test_one_e_fails(self):
        assert pcl5.provisional_dsm5_diagnosis(answers_with(**{**MINIMAL_DSM5, "q16": 1})) is False

    def test_items_rated_1_do_not_count(self):
        result = instruments.score("pcl5", {f"q{n}": 1 for n in range(1, 21)})
        assert result.total == 20 and result.provisional_diagnosis is False

    def test_a_high_total_without_cluster_c_is_no_diagnosis(self):
        answers = {f"q{n}": 4 for n in range(1, 21)}
        answers.update(q6=1, q7=1)
        result = instruments.score("pcl5", answers)
        assert result.total == 74 and result.above_cutoff is True
        assert result.provisional_diagnosis is False


class TestCutoff:
    def test_32_is_below_and_33_at_the_default_cutoff(self):
        assert policy.default("pcl5.provisional_cutoff") == 33
        at_32 = instruments.score("pcl5", answers_with(**{f"q{n}": 2 for n in range(1, 17)}))
        assert at_32.total == 32 and at_32.above_cutoff is False
        at_33 = instruments.score("pcl5", answers_with(**{f"q{n}": 2 for n in range(1, 17)}, q17=1))
        assert at_33.total == 33 and at_33.above_cutoff is True

    def test_clinic_cutoff_31(self):
        answers = answers_with(**{f"q{n}": 2 for n in range(1, 16)}, q16=1)  # 31
        assert instruments.score("pcl5", answers).above_cutoff is False
        result = instruments.score("pcl5", answers, cutoff=31)
        assert result.total == 31 and result.above_cutoff is True and result.cutoff == 31


class TestShortForm:
    def test_item_mapping_price_2016(self):
        short = instruments.get("pcl5-8")
        assert short.item_ids == ("q1", "q4", "q6", "q7", "q9", "q12", "q18", "q19")
        assert [i.number for i in short.items] == list(range(1, 9))
        assert [i.source_number for i in short.items] == [1, 4, 6, 7, 9, 12, 18, 19]
        full = instruments.get("pcl5")
        for item in short.items:
            assert item.text == full.item(item.id).text
            assert item.cluster == full.item(item.id).cluster
        assert [i.cluster for i in short.items] == ["B", "B", "C", "C", "D", "D", "E", "E"]

    def test_total_is_the_sum_of_its_eight_items(self):
        ratings = [3, 2, 1, 3, 2, 4, 3, 0, 2, 3, 1, 2, 3, 1, 2, 0, 3, 3, 2, 4]
        full = {f"q{n}": r for n, r in enumerate(ratings, start=1)}
        short_ids = instruments.get("pcl5-8").item_ids
        result = instruments.score("pcl5-8", {k: full[k] for k in short_ids})
        # items 1, 4, 6, 7, 9, 12, 18, 19 -> 3 + 3 + 4 + 3 + 2 + 2 + 3 + 2
        assert result.total == 22
        assert result.subscales == {"B": 6, "C": 7, "D": 4, "E": 5}
        assert result.max_total == 32
        assert result.provisional_diagnosis is None and result.above_cutoff is None

    def test_maximum_and_foreign_items(self):
        assert instruments.score("pcl5-8", {k: 4 for k in pcl5.PCL5_8.item_ids}).total == 32
        with pytest.raises(CoreError) as excinfo:
            instruments.score("pcl5-8", {**{k: 0 for k in pcl5.PCL5_8.item_ids}, "q2": 1})
        assert [(p.field, p.rule) for p in excinfo.value.problems] == [("q2", "unknown_item")]


def full_answers():
    return st.fixed_dictionaries({f"q{n}": st.integers(0, 4) for n in range(1, 21)})


@given(answers=full_answers(), cutoff=st.integers(0, 80), form=st.sampled_from(["pcl5", "pcl5-week"]))
def test_properties_of_every_valid_answer_set(answers, cutoff, form):
    result = instruments.score(form, answers, cutoff=cutoff)
    assert result.total == sum(answers.values())
    assert 0 <= result.total <= result.max_total == 80
    assert sum(result.subscales.values()) == result.total
    assert result.above_cutoff == (result.total >= cutoff)
    endorsed = {c: sum(answers[f"q{n}"] >= 2 for n in ns) for c, ns in CLUSTERS.items()}
    expected = endorsed["B"] >= 1 and endorsed["C"] >= 1 and endorsed["D"] >= 2 and endorsed["E"] >= 2
    assert result.provisional_diagnosis == expected
    assert result.answered_items == answers


@given(answers=st.fixed_dictionaries({k: st.integers(0, 4) for k in pcl5.PCL5_8.item_ids}))
def test_short_form_properties(answers):
    result = instruments.score("pcl5-8", answers)
    assert result.total == sum(answers.values())
    assert 0 <= result.total <= 32
    assert sum(result.subscales.values()) == result.total
