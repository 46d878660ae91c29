"""Maintenance planning: a patient's own durability of response -> the next booster window.

Product choices (DESIGN.md capability 6; clinic policy ``maintenance.*``):

- no standing maintenance: nothing is proposed until a loss of response has been observed;
- durability = days from the end of a course or booster to the loss of response after it
  (core.relapse.loss_of_response_date with ``after`` = that end);
- the window opens at ``maintenance.window_open_pct`` (75%) and closes at
  ``maintenance.window_close_pct`` (100%) of the patient's MEDIAN durability, counted from the latest
  treatment, so the booster comes before the predicted relapse; offsets are rounded down to whole
  days (never later than the percentage says);
- the median uses OBSERVED losses only. An episode without a loss (still well, or ended by a booster
  before any loss) is censored: it says durability was at least that long, not how long. Leaving it
  out can only shorten the median, i.e. propose boosters earlier, which errs on the side of
  preventing relapse. With the one to a few episodes a patient has, a Kaplan-Meier median would be
  undefined or unstable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from tenfour.core import policy as clinic_policy
from tenfour.core.errors import CoreError, FieldProblem

_POLICY_KEYS: dict[str, str] = {
    "window_open_pct": "maintenance.window_open_pct",
    "window_close_pct": "maintenance.window_close_pct",
}


@dataclass(frozen=True)
class MaintenancePolicy:
    """Booster window as shares (%) of the median durability (product choice)."""

    window_open_pct: int = clinic_policy.default("maintenance.window_open_pct")
    window_close_pct: int = clinic_policy.default("maintenance.window_close_pct")

    def __post_init__(self) -> None:
        for name, key in _POLICY_KEYS.items():
            object.__setattr__(self, name, clinic_policy.validate(key, getattr(self, name)))
        if self.window_open_pct > self.window_close_pct:
            raise clinic_policy.PolicyError(
                "maintenance.window_open_pct",
                f"must not be above the window close ({self.window_close_pct}%)")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> MaintenancePolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{name: values.get(key, clinic_policy.default(key))
                      for name, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class Episode:
    """One course or booster: its end date and the loss of response after it (None: not observed)."""

    treatment_end: dt.date
    loss_of_response: dt.date | None = None

    @property
    def durability_days(self) -> int | None:
        """Days from the treatment end to the loss of response; None while censored."""
        if self.loss_of_response is None:
            return None
        return (self.loss_of_response - self.treatment_end).days


@dataclass(frozen=True)
class Proposal:
    """A proposed booster window (inclusive dates) and how it was worked out.

    ``n_episodes`` counts the observed losses the median is taken over; ``n_censored`` the episodes
    left out because no loss was observed. ``overdue`` is True when ``as_of`` is after the window's
    last day (False when no ``as_of`` was given).
    """

    window_start: dt.date
    window_end: dt.date
    median_durability_days: float
    n_episodes: int
    n_censored: int
    overdue: bool
    explanation: str


def median_days(values: Sequence[int]) -> Fraction:
    """The median as an exact fraction (the mean of the two middle values for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[mid])
    return Fraction(ordered[mid - 1] + ordered[mid], 2)


def _days(value: Fraction) -> str:
    return f"{float(value):g}"


def propose(
    episodes: Sequence[Episode],
    latest_treatment_end: dt.date,
    policy: MaintenancePolicy,
    as_of: dt.date | None = None,
) -> Proposal | None:
    """Propose the next booster window from the patient's own durability (product choice; module doc).

    Window: ``latest_treatment_end`` + floor(median x open%) days to + floor(median x close%) days,
    both inclusive, median in days over observed losses only. None while no loss of response has
    been observed (no standing maintenance). Raises CoreError for a loss dated on or before its
    treatment end, or an episode that ended after ``latest_treatment_end``.
    """
    problems: list[FieldProblem] = []
    for i, episode in enumerate(episodes):
        if episode.treatment_end > latest_treatment_end:
            problems.append(FieldProblem(f"episodes[{i}].treatment_end", "not_after_latest_treatment",
                                         f"treatment end {episode.treatment_end} is after the latest "
                                         f"treatment end {latest_treatment_end}"))
        if episode.loss_of_response is not None and episode.loss_of_response <= episode.treatment_end:
            problems.append(FieldProblem(f"episodes[{i}].loss_of_response", "after_treatment_end",
                                         f"loss of response {episode.loss_of_response} must be after the "
                                         f"treatment end {episode.treatment_end}"))
    if problems:
        raise CoreError(problems)

    observed = [d for d in (e.durability_days for e in episodes) if d is not None]
    if not observed:
        return None
    median = median_days(observed)
    start = latest_treatment_end + dt.timedelta(days=math.floor(median * policy.window_open_pct / 100))
    end = latest_treatment_end + dt.timedelta(days=math.floor(median * policy.window_close_pct / 100))
    n_censored = len(episodes) - len(observed)
    overdue = as_of is not None and as_of > end

    losses = "loss" if len(observed) == 1 else "losses"
    parts = [f"Median durability {_days(median)} days from {len(observed)} observed {losses} of response "
             f"({', '.join(str(d) for d in sorted(observed))} days)."]
    if n_censored:
        parts.append(f"{n_censored} episode{'' if n_censored == 1 else 's'} without a loss of response "
                     "not counted (censored).")
    parts.append(f"Booster window {policy.window_open_pct}-{policy.window_close_pct}% of the median after "
                 f"the latest treatment on {latest_treatment_end}: {start} to {end}.")
    relapsed = [e.loss_of_response for e in episodes
                if e.treatment_end == latest_treatment_end and e.loss_of_response is not None]
    if relapsed:
        parts.append(f"Loss of response already recorded on {min(relapsed)} after the latest treatment.")
    if overdue:
        assert as_of is not None
        late = (as_of - end).days
        parts.append(f"Overdue: the window closed {late} day{'' if late == 1 else 's'} before {as_of}.")
    return Proposal(
        window_start=start,
        window_end=end,
        median_durability_days=float(median),
        n_episodes=len(observed),
        n_censored=n_censored,
        overdue=overdue,
        explanation=" ".join(parts),
    )
