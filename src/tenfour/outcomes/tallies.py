"""What the outcomes report is computed from: counts and small histograms per clinic, added up across clinics.

Both ways of counting fill the same :class:`Tallies` — the database's set-based queries (``repository``) and the
per-patient reference loop (``reference``) — so the test and the benchmark can assert that they agree exactly. A
clinic's own policy (response %, cutoff, reliable change, loss-of-response rule) is applied while counting its
patients; tallies of clinics with different policies can then be added. Definitions: docs/outcomes.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from tenfour.core import outcomes as core_outcomes
from tenfour.core import relapse
from tenfour.core.claims import FOURTEEN_WEEKS_DAYS

# Why a patient's 24-hour check-in gives no score (shown as missing data, never dropped silently).
H24_MISSED, H24_PENDING, H24_SHORT_FORM, H24_NOT_SCHEDULED = "missed", "pending", "short_form", "not_scheduled"
BASELINE_WEEK = -1  # the trajectory's "before the course" point


@dataclass(frozen=True)
class ClinicRules:
    """The clinic policy values the outcome definitions use (``clinics.service.effective_policy``)."""

    outcomes: core_outcomes.OutcomesPolicy
    relapse: relapse.RelapsePolicy

    @classmethod
    def from_policy(cls, values: dict[str, Any]) -> ClinicRules:
        return cls(core_outcomes.OutcomesPolicy.from_policy(values), relapse.RelapsePolicy.from_policy(values))


@dataclass
class Tallies:
    # Funnel (each stage counted by its own date in the period)
    referred: int = 0
    eligibility_decided: int = 0
    eligible: int = 0
    started: int = 0
    completed_induction: int = 0
    # Courses started (in the period) and what can be judged of them
    no_baseline: int = 0  # started without a baseline PCL-5: response cannot be judged
    in_progress: int = 0  # baseline, course not ended yet: not judged yet
    ended_no_score: int = 0  # course ended, no PCL-5 since it began: response unknown (missing)
    response_n: int = 0
    responders: int = 0
    remission_n: int = 0
    remitters: int = 0
    waterfall: Counter[tuple[int, int, bool]] = field(default_factory=Counter)  # (baseline, best, responded)
    # The 24-hour check-in (courses with a baseline)
    h24_n: int = 0
    h24_improved: int = 0
    h24_missing: Counter[str] = field(default_factory=Counter)
    # Durability after the course among responders: (days from the course end, lost response?) -> patients
    survival: Counter[tuple[int, bool]] = field(default_factory=Counter)
    # Boosters: needed = a loss of response or a booster given after the course end
    booster_followed: int = 0
    booster_needed: int = 0
    booster_full_window: int = 0  # course ended at least 14 weeks ago
    booster_needed_14w: int = 0
    # PCL-5 by week since the first infusion (latest score of the week; week -1 = baseline): (week, score) -> patients
    trajectory: Counter[tuple[int, int]] = field(default_factory=Counter)
    checkins_completed: int = 0
    checkins_missed: int = 0
    # Safety: infusions given (in the period)
    infusions: int = 0
    stopped_early: int = 0
    notify_vitals: int = 0  # infusions with a reading at the notify or stop line
    adverse: Counter[str] = field(default_factory=Counter)  # event type -> infusions with one
    cadss_n: int = 0
    cadss_sum: int = 0
    cadss_sum_sq: int = 0
    cadss_missing: int = 0

    def __add__(self, other: Tallies) -> Tallies:
        merged = Tallies()
        for f in fields(self):
            setattr(merged, f.name, getattr(self, f.name) + getattr(other, f.name))
        return merged

    def as_dict(self) -> dict[str, Any]:
        """Plain values (sorted, JSON-friendly) for comparing two ways of counting."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = sorted((list(k) if isinstance(k, tuple) else [k], v) for k, v in value.items()
                                 if v) if isinstance(value, Counter) else value
        return out


# --- Rules applied to one patient's numbers (shared by both ways of counting) -----------------------------------


def responded(baseline: int, score: int, rules: ClinicRules) -> bool:
    """Response (product choice, ``core.outcomes.response``): at least the clinic's % below the course baseline."""
    return bool(core_outcomes.response(baseline, score, rules.outcomes).met)


def remitted(score: int, rules: ClinicRules) -> bool | None:
    """Remission (product choice): below the provisional cutoff; None when the clinic has switched it off."""
    return core_outcomes.remission(score, score, rules.outcomes).met


def reliably_improved(baseline: int, score: int, rules: ClinicRules) -> bool:
    """Reliable improvement (NCPTSD; ``core.outcomes.reliable_change``): down by the reliable-change points or more."""
    return core_outcomes.reliable_change(baseline, score, rules.outcomes).direction == core_outcomes.IMPROVED


def add_best(t: Tallies, baseline: int, best: int, count: int, rules: ClinicRules) -> None:
    """Count ``count`` ended courses whose best PCL-5 since the course began was ``best``."""
    did_respond = responded(baseline, best, rules)
    t.response_n += count
    t.responders += count if did_respond else 0
    remission = remitted(best, rules)
    if remission is not None:
        t.remission_n += count
        t.remitters += count if remission else 0
    t.waterfall[(baseline, best, did_respond)] += count


def add_24h(t: Tallies, baseline: int, score: int, count: int, rules: ClinicRules) -> None:
    t.h24_n += count
    t.h24_improved += count if reliably_improved(baseline, score, rules) else 0


def add_booster(t: Tallies, course_end: date, need_day: date | None, as_of: date, count: int = 1) -> None:
    """A course ended on ``course_end``; ``need_day`` is the first loss of response or booster after it (or None)."""
    t.booster_followed += count
    t.booster_needed += count if need_day is not None else 0
    if (as_of - course_end).days >= FOURTEEN_WEEKS_DAYS:
        t.booster_full_window += count
        if need_day is not None and (need_day - course_end).days <= FOURTEEN_WEEKS_DAYS:
            t.booster_needed_14w += count


def week_of(day: date, course_start: date) -> int:
    """Weeks since the first infusion: days 0-6 are week 0 (the 24-hour check-in), days 7-13 week 1, ..."""
    return (day - course_start).days // 7
