"""Outcomes: change, reliable change, response, remission, their basis labels, and the Wilson interval."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest

from tenfour.core import outcomes, policy
from tenfour.core.errors import CoreError
from tenfour.core.outcomes import OutcomesPolicy


def rules_of(problem_list):
    return [(p.field, p.rule) for p in problem_list]


class TestPolicy:
    def test_defaults_come_from_clinic_policy(self):
        rules = OutcomesPolicy()
        assert rules.reliable_change_points == 10
        assert rules.response_reduction_pct == 30
        assert rules.remission_below_cutoff is True
        assert rules.provisional_cutoff == 33
        assert OutcomesPolicy.from_policy(policy.resolve({})) == rules

    def test_from_policy_reads_overrides(self):
        values = policy.resolve({"pcl5.reliable_change": 15, "outcome.response_reduction_pct": 50,
                                 "pcl5.provisional_cutoff": 31, "outcome.remission_below_cutoff": False})
        assert OutcomesPolicy.from_policy(values) == OutcomesPolicy(15, 50, False, 31)


class TestChange:
    def test_points_and_percent(self):
        delta = outcomes.change(50, 30)
        assert (delta.change_points, delta.change_pct) == (-20, -40.0)
        assert outcomes.change(20, 25).change_pct == 25.0

    def test_zero_baseline_has_no_percent(self):
        assert outcomes.change(0, 5).change_pct is None

    def test_bad_totals_are_all_reported(self):
        with pytest.raises(CoreError) as excinfo:
            outcomes.change(81, True)
        assert rules_of(excinfo.value.problems) == [
            ("baseline", "out_of_range"), ("current", "not_an_integer"),
        ]
        with pytest.raises(CoreError) as excinfo:
            outcomes.change(-1, 2.5)
        assert rules_of(excinfo.value.problems) == [
            ("baseline", "out_of_range"), ("current", "not_an_integer"),
        ]


class TestReliableChange:
    @pytest.mark.parametrize(
        "baseline,current,direction",
        [(50, 40, "improved"), (50, 41, "no_reliable_change"), (50, 59, "no_reliable_change"),
         (50, 60, "worsened"), (50, 50, "no_reliable_change"), (10, 0, "improved")],
    )
    def test_threshold_of_10_points_either_way(self, baseline, current, direction):
        judgement = outcomes.reliable_change(baseline, current)
        assert judgement.direction == direction
        assert judgement.met is (direction != "no_reliable_change")

    def test_labelled_evidence_with_its_source(self):
        judgement = outcomes.reliable_change(50, 35)
        assert judgement.basis == "evidence"
        assert "National Center for PTSD" in judgement.source
        assert judgement.threshold == 10 and judgement.change.change_points == -15

    def test_clinic_threshold(self):
        rules = OutcomesPolicy(reliable_change_points=15)
        assert outcomes.reliable_change(50, 36, rules).met is False
        assert outcomes.reliable_change(50, 35, rules).direction == "improved"


class TestResponse:
    def test_exactly_30_percent_responds(self):
        # 40 -> 28 is exactly 30 % lower; 40 -> 29 is 27.5 %.
        assert outcomes.response(40, 28).met is True
        assert outcomes.response(40, 29).met is False

    def test_feder_style_example(self):
        # 30 % of a baseline of 55 is 16.5 points: 38.5 or less responds, so 38 does and 39 does not.
        assert outcomes.response(55, 38).met is True
        assert outcomes.response(55, 39).met is False

    def test_worsening_is_no_response(self):
        assert outcomes.response(40, 45).met is False

    def test_zero_baseline_cannot_be_judged(self):
        assert outcomes.response(0, 0).met is None

    def test_labelled_product_choice(self):
        judgement = outcomes.response(40, 20)
        assert judgement.basis == "product choice"
        assert judgement.rule == "PCL-5 at least 30% below the course baseline"
        assert "Feder" in judgement.source

    def test_clinic_percentage(self):
        rules = OutcomesPolicy(response_reduction_pct=50)
        assert outcomes.response(40, 21, rules).met is False
        assert outcomes.response(40, 20, rules).met is True


class TestRemission:
    def test_below_the_cutoff(self):
        assert outcomes.remission(60, 32).met is True
        assert outcomes.remission(60, 33).met is False

    def test_clinic_cutoff_and_switch(self):
        assert outcomes.remission(60, 31, OutcomesPolicy(provisional_cutoff=31)).met is False
        assert outcomes.remission(60, 30, OutcomesPolicy(provisional_cutoff=31)).met is True
        assert outcomes.remission(60, 10, OutcomesPolicy(remission_below_cutoff=False)).met is None

    def test_labelled_product_choice(self):
        judgement = outcomes.remission(60, 20)
        assert judgement.basis == "product choice" and judgement.threshold == 33
        assert judgement.change.change_points == -40


class TestWilson:
    @pytest.mark.parametrize(
        "successes,n,low,high",
        # Newcombe 1998, Stat Med 17:857-872, Table I, score method without continuity correction.
        [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
    )
    def test_newcombe_worked_examples(self, successes, n, low, high):
        result = outcomes.wilson_interval(successes, n)
        assert result == pytest.approx((low, high), abs=5e-5)

    def test_no_patients_no_interval(self):
        assert outcomes.wilson_interval(0, 0) is None

    def test_all_successes_reach_one(self):
        low, high = outcomes.wilson_interval(10, 10)
        assert high == 1.0 and low == pytest.approx(0.7225, abs=5e-5)

    def test_invalid_input_is_all_reported(self):
        with pytest.raises(CoreError) as excinfo:
            outcomes.wilson_interval(-1, True, confidence=1.5)
        assert rules_of(excinfo.value.problems) == [
            ("successes", "out_of_range"), ("n", "not_an_integer"), ("confidence", "out_of_range"),
        ]
        with pytest.raises(CoreError) as excinfo:
            outcomes.wilson_interval(5, 4)
        assert rules_of(excinfo.value.problems) == [("successes", "out_of_range")]

    @given(
        n=st.integers(1, 500),
        data=st.data(),
        confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    )
    def test_matches_scipy_and_holds_the_point_estimate(self, n, data, confidence):
        successes = data.draw(st.integers(0, n))
        low, high = outcomes.wilson_interval(successes, n, confidence)
        assert 0.0 <= low <= successes / n <= high <= 1.0
        reference = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
        assert (low, high) == pytest.approx((reference.low, reference.high), abs=1e-9)

    def test_wider_at_higher_confidence(self):
        low90, high90 = outcomes.wilson_interval(30, 45, 0.90)
        low99, high99 = outcomes.wilson_interval(30, 45, 0.99)
        assert low99 < low90 and high99 > high90


@given(baseline=st.integers(0, 80), current=st.integers(0, 80))
def test_outcome_properties(baseline, current):
    delta = outcomes.change(baseline, current)
    assert delta.change_points == current - baseline
    judgement = outcomes.reliable_change(baseline, current)
    assert judgement.met == (abs(current - baseline) >= 10)
    response = outcomes.response(baseline, current)
    if baseline:
        assert response.met == (delta.change_pct <= -30 + 1e-9)
    assert outcomes.remission(baseline, current).met == (current < 33)
