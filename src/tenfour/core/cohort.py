"""Cohort statistics with honest uncertainty: shares with Wilson intervals, rates per 100, means with a t interval,
Kaplan-Meier durability (lifelines), and medians and quartiles from score histograms.

Every estimate is an :class:`Estimate` — ``{"value", "ci95": [low, high], "n"}`` — so no number is ever shown
without how many patients stand behind it and how uncertain it is. With ``n`` = 0 the value and the interval are
None ("not enough data"), never a division by zero. Shares are fractions 0-1; rates per 100 are per 100 of ``n``.

Sources: Wilson EB (1927), J Am Stat Assoc 22:209-212, recommended by Newcombe RG (1998), Stat Med 17:857-872
(``core.outcomes.wilson_interval``, reused here); Kaplan EL, Meier P (1958), J Am Stat Assoc 53:457-481, with the
exponential Greenwood ("log-log") interval of lifelines' ``KaplanMeierFitter`` and its median interval
(``lifelines.utils.median_survival_times``). Pure: no I/O; lifelines and scipy are imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenfour.core.errors import CoreError, FieldProblem
from tenfour.core.outcomes import wilson_interval

# Below this many patients (for a survival estimate: losses observed), an estimate is shown with its interval but
# called too few to judge, and no claim gets a verdict. Product choice: with fewer than 10, a Wilson interval spans
# about half the scale or more, and a Kaplan-Meier median rests on a handful of events.
MIN_N = 10


@dataclass(frozen=True)
class Estimate:
    """One number with its 95% interval and the count behind it.

    ``value`` None: not estimable (no patients, or a median not reached). ``ci95`` None: no interval; an end that is
    None is unbounded (a median whose upper limit is beyond the follow-up). ``count`` is the numerator of a share;
    ``events`` the events behind a survival estimate (a median rests on the losses observed, not on n alone).
    """

    value: float | None
    ci95: tuple[float | None, float | None] | None
    n: int
    count: int | None = None
    events: int | None = None

    @property
    def support(self) -> int:
        """What the estimate rests on: the events for a survival estimate, else n."""
        return self.n if self.events is None else self.events

    @property
    def enough(self) -> bool:
        """Enough behind it to judge (``MIN_N`` patients, or events for a survival estimate; product choice)."""
        return self.support >= MIN_N and self.ci95 is not None

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        def rounded(x: float | None) -> float | None:
            return None if x is None else round(x, digits)

        out: dict[str, Any] = {"value": rounded(self.value),
                               "ci95": None if self.ci95 is None else [rounded(self.ci95[0]), rounded(self.ci95[1])],
                               "n": self.n}
        if self.count is not None:
            out["count"] = self.count
        if self.events is not None:
            out["events"] = self.events
        return out


NO_DATA = Estimate(None, None, 0)


def proportion(successes: int, n: int) -> Estimate:
    """The share ``successes / n`` (0-1) with its Wilson 95% interval; no value when ``n`` is 0. Raises CoreError
    naming ``successes`` or ``n`` for counts that are not whole numbers in 0..n."""
    interval = wilson_interval(successes, n)
    if interval is None:  # n = 0
        return Estimate(None, None, 0, 0)
    return Estimate(successes / n, interval, n, successes)


def per_100(events: int, n: int) -> Estimate:
    """How many of every 100 (e.g. infusions with a stop) with the Wilson 95% interval scaled to 100.

    ``events`` counts units with at least one event, so it is a share of ``n`` (a unit counted once)."""
    share = proportion(events, n)
    if share.value is None or share.ci95 is None:
        return share
    low, high = share.ci95
    assert low is not None and high is not None
    return Estimate(100 * share.value, (100 * low, 100 * high), n, events)


def mean(n: int, total: float, total_of_squares: float) -> Estimate:
    """Mean with a two-sided 95% t interval from the count, the sum and the sum of squares (no interval for n < 2)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise CoreError.single("n", "count", "must be a whole number 0 or more")
    if n == 0:
        return NO_DATA
    average = total / n
    if n == 1:
        return Estimate(average, None, 1)
    from scipy.stats import t

    variance = max(0.0, (total_of_squares - total * total / n) / (n - 1))
    half = float(t.ppf(0.975, n - 1)) * math.sqrt(variance / n)
    return Estimate(average, (average - half, average + half), n)


# --- Kaplan-Meier -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Survival:
    """A Kaplan-Meier estimate from grouped observations.

    ``timeline``/``survival``/``lower``/``upper``: the step function and its 95% band (at each distinct time, from
    0). ``median``: the median time with its interval (value None while more than half have not had the event);
    ``censored_times``: the times at which someone was censored (for tick marks).
    """

    n: int
    events: int
    median: Estimate
    timeline: list[float] = field(default_factory=list)
    survival: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    censored_times: list[float] = field(default_factory=list)
    observations: tuple[tuple[float, int], ...] = ()  # (time, how many) of every observation, event or not

    @property
    def censored(self) -> int:
        return self.n - self.events

    def at(self, time: float) -> Estimate:
        """The share without the event at ``time`` (the step function's value there) with its band."""
        if not self.timeline:
            return Estimate(None, None, self.n, events=self.events)
        index = max(i for i, t in enumerate(self.timeline) if t <= time)
        return Estimate(self.survival[index], (self.lower[index], self.upper[index]), self.n, events=self.events)

    def at_risk(self, time: float) -> int:
        """How many were still followed (no event, not censored) just before ``time``."""
        return sum(count for t, count in self.observations if t >= time)


def _finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else float(value)


def kaplan_meier(groups: Mapping[tuple[int, bool], int]) -> Survival:
    """Kaplan-Meier from grouped observations ``{(days, event): how many}``: ``event`` True is the event (a loss of
    response), False a censoring (still responding at the last observation). Durations must be 0 or more.

    The counts are passed to lifelines as integer weights, which gives the same estimate and Greenwood interval as
    the expanded data (tested). The median's interval is lifelines' ``median_survival_times`` of the band.
    """
    problems = []
    for (days, event), count in groups.items():
        if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
            problems.append(FieldProblem("duration", "range", f"must be 0 or more days, got {days!r}"))
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            problems.append(FieldProblem("count", "count", f"must be a whole number 0 or more, got {count!r}"))
        if not isinstance(event, bool):
            problems.append(FieldProblem("event", "type", "must be true (event) or false (censored)"))
    if problems:
        raise CoreError(problems)
    items = sorted((k, c) for k, c in groups.items() if c > 0)
    n = sum(c for _, c in items)
    events = sum(c for (_, e), c in items if e)
    if n == 0:
        return Survival(0, 0, NO_DATA)
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    fitter = KaplanMeierFitter()
    fitter.fit([float(d) for (d, _), _ in items], [e for (_, e), _ in items], weights=[c for _, c in items])
    band = fitter.confidence_interval_survival_function_
    timeline = [float(t) for t in fitter.survival_function_.index]
    survival = [float(s) for s in fitter.survival_function_.iloc[:, 0]]
    lower = [float(x) for x in band.iloc[:, 0]]
    upper = [float(x) for x in band.iloc[:, 1]]
    median_limits = median_survival_times(fitter.confidence_interval_)
    low, high = (_finite(float(x)) for x in median_limits.iloc[0, :2])
    value = _finite(float(fitter.median_survival_time_))
    median = Estimate(value, None if low is None and high is None else (low, high), n, events=events)
    censored = sorted({float(d) for (d, e), _ in items if not e})
    observations: dict[float, int] = {}
    for (days, _), count in items:
        observations[float(days)] = observations.get(float(days), 0) + count
    return Survival(n, events, median, timeline, survival, lower, upper, censored, tuple(sorted(observations.items())))


# --- Distributions from histograms ---------------------------------------------------------------------------------


def quartiles(histogram: Mapping[int, int]) -> tuple[float, float, float] | None:
    """The 25th, 50th and 75th percentiles (linear interpolation, as numpy's default) of integer values given as
    ``{value: how many}``; None when empty. The same histogram always gives the same numbers, whichever way it
    was counted (in the database or patient by patient)."""
    values = sorted((v, c) for v, c in histogram.items() if c > 0)
    total = sum(c for _, c in values)
    if total == 0:
        return None

    def at_rank(rank: int) -> int:  # the value at a 0-based rank in the sorted expanded data
        seen = 0
        for value, count in values:
            seen += count
            if rank < seen:
                return value
        return values[-1][0]

    def percentile(q: float) -> float:
        position = (total - 1) * q
        below = math.floor(position)
        fraction = position - below
        low = at_rank(below)
        high = at_rank(min(below + 1, total - 1))
        return low + (high - low) * fraction

    return percentile(0.25), percentile(0.5), percentile(0.75)
