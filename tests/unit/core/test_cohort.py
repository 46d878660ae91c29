"""Cohort statistics: Wilson shares against hand computation and Newcombe's published examples, rates per 100, the
t interval of a mean, Kaplan-Meier against lifelines on the expanded data, quartiles against numpy, and the claims'
verdict rule (product choice). No database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from tenfour.core import claims, cohort
from tenfour.core.errors import CoreError


class TestProportion:
    def test_by_hand(self) -> None:
        # 7 of 20 with z = 1.959964: centre (p + z^2/2n) / (1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2) / (...)
        z, n, p = 1.959963984540054, 20, 7 / 20
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        assert (round(centre - half, 4), round(centre + half, 4)) == (0.1812, 0.5671)  # written out by hand
        share = cohort.proportion(7, 20)
        assert share.value == 0.35 and share.n == 20 and share.count == 7
        assert share.ci95 is not None
        assert share.ci95 == pytest.approx((0.1812, 0.5671), abs=5e-5)

    @pytest.mark.parametrize(("k", "n", "low", "high"), [
        # Newcombe RG (1998), Stat Med 17:857-872, Table I, method 3 (Wilson score, no continuity correction).
        (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
    def test_newcombe_examples(self, k: int, n: int, low: float, high: float) -> None:
        share = cohort.proportion(k, n)
        assert share.ci95 == pytest.approx((low, high), abs=5e-5)

    def test_no_patients_is_no_number(self) -> None:
        share = cohort.proportion(0, 0)
        assert (share.value, share.ci95, share.n) == (None, None, 0)
        assert share.as_dict() == {"value": None, "ci95": None, "n": 0, "count": 0}
        assert not share.enough

    @pytest.mark.parametrize(("k", "n"), [(1, 1), (2, 2), (1, 2), (0, 1)])
    def test_tiny_n_still_has_an_honest_interval(self, k: int, n: int) -> None:
        share = cohort.proportion(k, n)
        assert share.ci95 is not None
        low, high = share.ci95
        assert low is not None and high is not None
        assert high - low > 0.5  # one or two patients can tell little
        assert not share.enough

    @pytest.mark.parametrize(("k", "n", "field"), [(-1, 5, "successes"), (6, 5, "successes"), (1, True, "n"),
                                                   (1.5, 3, "successes")])
    def test_bad_counts_name_the_field(self, k: object, n: object, field: str) -> None:
        with pytest.raises(CoreError) as caught:
            cohort.proportion(k, n)  # type: ignore[arg-type]
        assert field in {p.field for p in caught.value.problems}

    def test_as_dict_is_the_api_shape(self) -> None:
        assert cohort.proportion(2, 3).as_dict() == {"value": 0.6667, "ci95": [0.2077, 0.9385], "n": 3, "count": 2}


def test_per_100_scales_the_wilson_interval() -> None:
    rate = cohort.per_100(3, 10)
    share = cohort.proportion(3, 10)
    assert rate.value == pytest.approx(30.0)
    assert rate.ci95 is not None and share.ci95 is not None
    assert rate.ci95 == pytest.approx(tuple(100 * x for x in share.ci95))  # type: ignore[operator]
    assert cohort.per_100(0, 0).value is None


class TestMean:
    def test_t_interval_by_hand(self) -> None:
        values = [2, 4, 4, 5, 7, 9]
        estimate = cohort.mean(len(values), sum(values), sum(v * v for v in values))
        sd = float(np.std(values, ddof=1))
        half = 2.570581835636314 * sd / math.sqrt(6)  # t(0.975, 5)
        assert estimate.value == pytest.approx(31 / 6)
        assert estimate.ci95 == pytest.approx((31 / 6 - half, 31 / 6 + half))

    def test_one_value_has_no_interval_and_none_has_no_value(self) -> None:
        assert cohort.mean(1, 5, 25).ci95 is None and cohort.mean(1, 5, 25).value == 5
        assert cohort.mean(0, 0, 0) == cohort.NO_DATA


DURATIONS = [3, 5, 5, 8, 10, 12, 12, 15, 20, 21, 25, 30]
EVENTS = [True, True, False, True, True, False, True, True, False, True, True, False]


def _grouped(durations: list[int], events: list[bool]) -> dict[tuple[int, bool], int]:
    groups: dict[tuple[int, bool], int] = {}
    for d, e in zip(durations, events, strict=True):
        groups[(d, e)] = groups.get((d, e), 0) + 1
    return groups


class TestKaplanMeier:
    def test_matches_lifelines_on_the_expanded_data(self) -> None:
        fitter = KaplanMeierFitter().fit(DURATIONS, EVENTS)
        survival = cohort.kaplan_meier(_grouped(DURATIONS, EVENTS))
        assert survival.n == 12 and survival.events == 8 and survival.censored == 4
        assert survival.timeline == list(fitter.survival_function_.index)
        assert survival.survival == pytest.approx(list(fitter.survival_function_.iloc[:, 0]))
        assert survival.lower == pytest.approx(list(fitter.confidence_interval_survival_function_.iloc[:, 0]))
        assert survival.upper == pytest.approx(list(fitter.confidence_interval_survival_function_.iloc[:, 1]))
        assert survival.median.value == fitter.median_survival_time_ == 15.0
        limits = median_survival_times(fitter.confidence_interval_)
        assert survival.median.ci95 == pytest.approx(tuple(limits.iloc[0, :2]))
        assert survival.median.events == 8

    def test_by_hand(self) -> None:
        # 4 patients: losses on days 10 and 20, censored on days 15 and 30. S(10) = 3/4; at 20 one of the two
        # still followed loses response: S(20) = 3/4 x 1/2 = 3/8.
        survival = cohort.kaplan_meier({(10, True): 1, (15, False): 1, (20, True): 1, (30, False): 1})
        assert survival.at(12).value == pytest.approx(0.75)
        assert survival.at(25).value == pytest.approx(0.375)
        assert survival.median.value == 20.0
        assert survival.at_risk(0) == 4 and survival.at_risk(16) == 2 and survival.at_risk(31) == 0
        assert survival.censored_times == [15.0, 30.0]

    def test_median_not_reached_is_none_with_a_lower_limit(self) -> None:
        survival = cohort.kaplan_meier({(30, True): 2, (100, False): 4})  # S = 4/6 from day 30 on
        assert survival.median.value is None
        assert survival.median.ci95 is not None and survival.median.ci95[1] is None
        assert survival.median.ci95[0] == 30.0  # the lower band crosses one half at day 30
        assert survival.median.as_dict()["ci95"][1] is None  # JSON: null, never Infinity
        assert cohort.kaplan_meier({(30, True): 2, (100, False): 18}).median.ci95 is None  # no limit at all

    def test_nobody_followed(self) -> None:
        survival = cohort.kaplan_meier({})
        assert survival.n == 0 and survival.median == cohort.NO_DATA
        assert survival.at(98).value is None

    def test_bad_observations_are_refused(self) -> None:
        with pytest.raises(CoreError) as caught:
            cohort.kaplan_meier({(-1, True): 1, (5, "yes"): 1, (3, False): -2})  # type: ignore[dict-item]
        assert {p.field for p in caught.value.problems} == {"duration", "event", "count"}


@pytest.mark.parametrize("histogram", [{1: 1, 2: 1, 3: 1, 4: 1}, {30: 5}, {10: 3, 40: 1, 41: 7, 80: 2}, {0: 1}])
def test_quartiles_match_numpy(histogram: dict[int, int]) -> None:
    expanded = [v for v, c in histogram.items() for _ in range(c)]
    assert cohort.quartiles(histogram) == pytest.approx(tuple(np.percentile(expanded, [25, 50, 75])))


def test_quartiles_of_nothing() -> None:
    assert cohort.quartiles({}) is None and cohort.quartiles({5: 0}) is None


class TestVerdict:
    CLAIM = next(c for c in claims.CLAIMS if c.key == "feder_response")  # point: 67%
    FLOOR = next(c for c in claims.CLAIMS if c.key == "improvement_24h")  # at least 20%
    MEDIAN = next(c for c in claims.CLAIMS if c.key == "feder_durability")  # point: 27.5 days

    def test_point_inside_and_outside(self) -> None:
        assert claims.verdict(self.CLAIM, cohort.proportion(14, 20)) is claims.Verdict.CONSISTENT
        assert claims.verdict(self.CLAIM, cohort.proportion(4, 20)) is claims.Verdict.NOT_CONSISTENT

    def test_too_few_is_not_enough_data(self) -> None:
        assert claims.verdict(self.CLAIM, cohort.proportion(0, 9)) is claims.Verdict.NOT_ENOUGH_DATA
        assert claims.verdict(self.CLAIM, cohort.proportion(0, 0)) is claims.Verdict.NOT_ENOUGH_DATA

    def test_floor(self) -> None:
        assert claims.verdict(self.FLOOR, cohort.proportion(30, 50)) is claims.Verdict.CONSISTENT
        assert claims.verdict(self.FLOOR, cohort.proportion(1, 50)) is claims.Verdict.NOT_CONSISTENT
        assert claims.verdict(self.FLOOR, cohort.proportion(11, 50)) is claims.Verdict.NOT_ENOUGH_DATA  # straddles

    def test_a_median_needs_ten_losses(self) -> None:
        few = cohort.kaplan_meier({(60, True): 2, (200, False): 30}).median
        assert few.n == 32 and claims.verdict(self.MEDIAN, few) is claims.Verdict.NOT_ENOUGH_DATA
        early = cohort.kaplan_meier({(d, True): 1 for d in range(5, 20)} | {(200, False): 3}).median
        assert claims.verdict(self.MEDIAN, early) is claims.Verdict.NOT_CONSISTENT  # lost well before 27.5 days

    def test_a_difference_from_placebo_cannot_be_checked(self) -> None:
        comparison = next(c for c in claims.CLAIMS if c.rule is claims.Rule.COMPARISON)
        assert claims.verdict(comparison, cohort.proportion(90, 100)) is claims.Verdict.NOT_TESTABLE
        assert claims.Verdict.NOT_TESTABLE.label == "cannot be checked here"
