"""PCL-5 outcomes against a course baseline, and the Wilson interval for outcome rates.

- change: points and percent from the baseline (arithmetic, no threshold).
- reliable change: |change| at or above policy ``pcl5.reliable_change`` points (default 10). Basis:
  evidence (National Center for PTSD: 5-10 points reliable, 10-20 clinically significant).
- response: a reduction of at least policy ``outcome.response_reduction_pct`` % (default 30) from the
  course baseline. Basis: product choice, mirroring the >= 30% CAPS-5 response rule of Feder 2021.
- remission: PCL-5 below the provisional cutoff (policy ``pcl5.provisional_cutoff``, default 33), when
  policy ``outcome.remission_below_cutoff`` is on. Basis: product choice.

Each judgement carries its basis, rule and source so the UI can show them beside the result.
Scores are PCL-5 totals (20 items, 0-80 points); lower is better.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem
from tenfour.core.policy import Basis

PCL5_MAX_TOTAL = 80

IMPROVED = "improved"
WORSENED = "worsened"
NO_RELIABLE_CHANGE = "no_reliable_change"


@dataclass(frozen=True)
class OutcomesPolicy:
    """The clinic's outcome thresholds (defaults from clinic policy; see policy.py for sources)."""

    reliable_change_points: int = policy.default("pcl5.reliable_change")
    response_reduction_pct: float = policy.default("outcome.response_reduction_pct")
    remission_below_cutoff: bool = policy.default("outcome.remission_below_cutoff")
    provisional_cutoff: int = policy.default("pcl5.provisional_cutoff")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> OutcomesPolicy:
        """Build from the resolved clinic policy (``policy.resolve(overrides)``)."""
        return cls(
            reliable_change_points=values["pcl5.reliable_change"],
            response_reduction_pct=values["outcome.response_reduction_pct"],
            remission_below_cutoff=values["outcome.remission_below_cutoff"],
            provisional_cutoff=values["pcl5.provisional_cutoff"],
        )


@dataclass(frozen=True)
class ScoreChange:
    """Change of a PCL-5 total from the baseline.

    ``change_points`` = current - baseline (negative: fewer symptoms). ``change_pct`` = that change as a
    percent of the baseline (-40.0 means 40 % lower); None when the baseline is 0.
    """

    baseline: int
    current: int
    change_points: int
    change_pct: float | None


@dataclass(frozen=True)
class OutcomeJudgement:
    """One outcome rule applied to a change, labelled with its basis for display.

    ``met`` is None when the rule cannot be judged (response from a baseline of 0; remission when the
    clinic has switched the below-cutoff definition off). ``direction`` is set for reliable change only
    (improved / worsened / no_reliable_change). ``threshold`` is in the rule's unit (points or %).
    """

    outcome: str
    met: bool | None
    basis: Basis
    rule: str
    source: str
    threshold: float
    change: ScoreChange
    direction: str | None = None


def _total_problem(name: str, value: Any) -> FieldProblem | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return FieldProblem(name, "not_an_integer", "must be a whole number of PCL-5 points")
    if not 0 <= value <= PCL5_MAX_TOTAL:
        return FieldProblem(name, "out_of_range", f"must be a PCL-5 total between 0 and {PCL5_MAX_TOTAL}")
    return None


def change(baseline: int, current: int) -> ScoreChange:
    """Change in PCL-5 points and percent from the course baseline (both totals 0-80).

    Raises CoreError naming ``baseline`` and/or ``current`` when a total is not a whole number in 0-80.
    """
    problems = [p for p in (_total_problem("baseline", baseline), _total_problem("current", current)) if p]
    if problems:
        raise CoreError(problems)
    points = current - baseline
    pct = None if baseline == 0 else 100.0 * points / baseline
    return ScoreChange(baseline=baseline, current=current, change_points=points, change_pct=pct)


def reliable_change(baseline: int, current: int, rules: OutcomesPolicy | None = None) -> OutcomeJudgement:
    """Reliable change: the total moved by at least ``reliable_change_points`` points, either way.

    ``direction`` says improved (down) or worsened (up). Basis: evidence (NCPTSD: 5-10 points reliable;
    clinic policy ``pcl5.reliable_change``, default 10).
    """
    rules = rules or OutcomesPolicy()
    delta = change(baseline, current)
    threshold = rules.reliable_change_points
    if delta.change_points <= -threshold:
        direction = IMPROVED
    elif delta.change_points >= threshold:
        direction = WORSENED
    else:
        direction = NO_RELIABLE_CHANGE
    return OutcomeJudgement(
        outcome="reliable_change",
        met=direction != NO_RELIABLE_CHANGE,
        basis=policy.BY_KEY["pcl5.reliable_change"].basis,
        rule=f"PCL-5 changed by {threshold} points or more",
        source=policy.BY_KEY["pcl5.reliable_change"].source,
        threshold=threshold,
        change=delta,
        direction=direction,
    )


def response(baseline: int, current: int, rules: OutcomesPolicy | None = None) -> OutcomeJudgement:
    """Response: PCL-5 at least ``response_reduction_pct`` % below the course baseline.

    Compared exactly: (baseline - current) x 100 >= pct x baseline, so a 30 % drop from 40 to 28 counts.
    ``met`` is None when the baseline is 0 (no reduction is possible). Basis: product choice
    (policy ``outcome.response_reduction_pct``, mirroring Feder 2021's >= 30 % CAPS-5 rule).
    """
    rules = rules or OutcomesPolicy()
    delta = change(baseline, current)
    pct = rules.response_reduction_pct
    met = None if baseline == 0 else (baseline - current) * 100 >= pct * baseline
    return OutcomeJudgement(
        outcome="response",
        met=met,
        basis=policy.BY_KEY["outcome.response_reduction_pct"].basis,
        rule=f"PCL-5 at least {pct:g}% below the course baseline",
        source=policy.BY_KEY["outcome.response_reduction_pct"].source,
        threshold=pct,
        change=delta,
    )


def remission(baseline: int, current: int, rules: OutcomesPolicy | None = None) -> OutcomeJudgement:
    """Remission: current PCL-5 below the provisional cutoff (strictly: cutoff 33 means 32 or less).

    ``met`` is None when the clinic has switched off ``outcome.remission_below_cutoff``. Basis: product
    choice (the cutoff itself, ``pcl5.provisional_cutoff``, is evidence: NCPTSD 31-33).
    """
    rules = rules or OutcomesPolicy()
    delta = change(baseline, current)
    cutoff = rules.provisional_cutoff
    met = current < cutoff if rules.remission_below_cutoff else None
    return OutcomeJudgement(
        outcome="remission",
        met=met,
        basis=policy.BY_KEY["outcome.remission_below_cutoff"].basis,
        rule=f"PCL-5 below the provisional cutoff of {cutoff}",
        source=policy.BY_KEY["outcome.remission_below_cutoff"].source,
        threshold=cutoff,
        change=delta,
    )


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (e.g. responders / patients), as fractions 0-1.

    Returns None when ``n`` is 0 (no patients: no rate). Source: Wilson EB (1927), J Am Stat Assoc
    22:209-212; recommended over the Wald interval by Newcombe (1998), Stat Med 17:857-872.
    Raises CoreError for counts that are not whole numbers, successes outside 0..n, or a confidence
    outside (0, 1).
    """
    problems = []
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(FieldProblem(name, "not_an_integer", "must be a whole number"))
        elif value < 0:
            problems.append(FieldProblem(name, "out_of_range", "must not be negative"))
    if not problems and successes > n:
        problems.append(FieldProblem("successes", "out_of_range", "must not be more than n"))
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        problems.append(FieldProblem("confidence", "out_of_range", "must be between 0 and 1, e.g. 0.95"))
    if problems:
        raise CoreError(problems)
    if n == 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Exact bounds at 0 and n (the formula gives them up to rounding).
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return (low, high)
