"""Relapse early warning: a patient's check-in history -> a state and every reason that holds.

All rules are TenFour *product choices* (DESIGN.md, "Response / relapse (product choices, labelled
so)"); every number is a clinic policy setting read through :class:`RelapsePolicy`:

- response: a PCL-5 score at least ``outcome.response_reduction_pct`` (30%) below the course baseline,
  mirroring the >=30% CAPS-5 response rule of Feder et al. 2021;
- ``urgent``: PHQ-9 item 9 > 0 (Kroenke 2001: same-day suicide-risk assessment) or C-SSRS screen risk
  high (imminent risk, crisis workflow now) in the latest check-in;
- ``act`` (loss of response): a responder whose latest ``relapse.act_consecutive_checkins`` (2) PCL-5
  scores no longer meet the response rule;
- ``watch``: reliable worsening (``pcl5.reliable_change``, 10 points; NCPTSD) from the best score, or
  >= ``relapse.watch_warning_signs`` (3) warning signs, or a least-squares trend of the last 3 PCL-5
  scores >= ``relapse.watch_slope_points_per_week`` (2.0), or a check-in overdue by more than
  ``relapse.watch_overdue_days`` (3);
- ``non_responder``: the course has ended and no PCL-5 score met the response rule;
- ``stable``: none of the above.

Severity: urgent > act > watch > non_responder > stable; the most severe state wins and the reasons
list every rule that holds. ``non_responder`` ranks below ``watch`` because it is a settled outcome
for the prescriber's review, while watch/act/urgent are changes that raise alerts: a non-responder
who worsens must still raise one. See docs/relapse.md for worked examples.

Pure and cheap (one sort and one pass over the check-ins): the periodic sweep runs it per patient,
and the rule helpers (:func:`response_limit_pcl5`, :func:`slope_points_per_week`) are exact integer
arithmetic that a vectorised sweep can reproduce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from tenfour.core import policy as clinic_policy
from tenfour.core.errors import CoreError, FieldProblem

PCL5_MAX = 80  # PCL-5: 20 items 0-4 (National Center for PTSD)
PHQ9_ITEM_MAX = 3  # PHQ-9 items 0-3 (Kroenke 2001)
CSSRS_RISK_LEVELS = ("none", "low", "moderate", "high")  # C-SSRS screener risk (DESIGN.md)
# Product choice from issue 6 ("the last 3 PCL-5 scores"); not a clinic policy setting yet.
TREND_SCORES = 3


class RelapseState(StrEnum):
    URGENT = "urgent"
    ACT = "act"
    WATCH = "watch"
    NON_RESPONDER = "non_responder"
    STABLE = "stable"


SEVERITY_ORDER: tuple[RelapseState, ...] = (
    RelapseState.URGENT,
    RelapseState.ACT,
    RelapseState.WATCH,
    RelapseState.NON_RESPONDER,
    RelapseState.STABLE,
)


class Rule(StrEnum):
    """Reason identifiers; each belongs to one state (its prefix)."""

    URGENT_PHQ9_ITEM9 = "urgent_phq9_item9"
    URGENT_CSSRS_HIGH = "urgent_cssrs_high"
    ACT_LOSS_OF_RESPONSE = "act_loss_of_response"
    WATCH_RELIABLE_WORSENING = "watch_reliable_worsening"
    WATCH_WARNING_SIGNS = "watch_warning_signs"
    WATCH_RISING_TREND = "watch_rising_trend"
    WATCH_OVERDUE = "watch_overdue"
    NON_RESPONDER = "non_responder"
    STABLE = "stable"


RULE_STATE: dict[Rule, RelapseState] = {
    Rule.URGENT_PHQ9_ITEM9: RelapseState.URGENT,
    Rule.URGENT_CSSRS_HIGH: RelapseState.URGENT,
    Rule.ACT_LOSS_OF_RESPONSE: RelapseState.ACT,
    Rule.WATCH_RELIABLE_WORSENING: RelapseState.WATCH,
    Rule.WATCH_WARNING_SIGNS: RelapseState.WATCH,
    Rule.WATCH_RISING_TREND: RelapseState.WATCH,
    Rule.WATCH_OVERDUE: RelapseState.WATCH,
    Rule.NON_RESPONDER: RelapseState.NON_RESPONDER,
    Rule.STABLE: RelapseState.STABLE,
}

# The clinic policy settings behind each rule, for showing the value and its source beside a reason.
RULE_POLICY_KEYS: dict[Rule, tuple[str, ...]] = {
    Rule.URGENT_PHQ9_ITEM9: (),  # always on: suicide-risk alerts are never switched off
    Rule.URGENT_CSSRS_HIGH: (),
    Rule.ACT_LOSS_OF_RESPONSE: ("outcome.response_reduction_pct", "relapse.act_consecutive_checkins"),
    Rule.WATCH_RELIABLE_WORSENING: ("pcl5.reliable_change",),
    Rule.WATCH_WARNING_SIGNS: ("relapse.watch_warning_signs",),
    Rule.WATCH_RISING_TREND: ("relapse.watch_slope_points_per_week",),
    Rule.WATCH_OVERDUE: ("relapse.watch_overdue_days",),
    Rule.NON_RESPONDER: ("outcome.response_reduction_pct",),
    Rule.STABLE: (),
}

_POLICY_KEYS: dict[str, str] = {
    "response_reduction_pct": "outcome.response_reduction_pct",
    "reliable_change_points": "pcl5.reliable_change",
    "watch_warning_signs": "relapse.watch_warning_signs",
    "watch_slope_points_per_week": "relapse.watch_slope_points_per_week",
    "watch_overdue_days": "relapse.watch_overdue_days",
    "act_consecutive_checkins": "relapse.act_consecutive_checkins",
}


@dataclass(frozen=True)
class RelapsePolicy:
    """The clinic's relapse thresholds (all product choices except reliable change; see module doc)."""

    response_reduction_pct: int = clinic_policy.default("outcome.response_reduction_pct")
    reliable_change_points: int = clinic_policy.default("pcl5.reliable_change")
    watch_warning_signs: int = clinic_policy.default("relapse.watch_warning_signs")
    watch_slope_points_per_week: float = clinic_policy.default("relapse.watch_slope_points_per_week")
    watch_overdue_days: int = clinic_policy.default("relapse.watch_overdue_days")
    act_consecutive_checkins: int = clinic_policy.default("relapse.act_consecutive_checkins")

    def __post_init__(self) -> None:
        # Same limits as the clinic policy (PolicyError): e.g. a 0-check-in "act" rule would fire on
        # every responder.
        for name, key in _POLICY_KEYS.items():
            object.__setattr__(self, name, clinic_policy.validate(key, getattr(self, name)))

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> RelapsePolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{name: values.get(key, clinic_policy.default(key))
                      for name, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class CheckIn:
    """One between-visit check-in.

    ``pcl5`` is the PCL-5 total 0-80 (None for the 8-item short form or a skipped questionnaire);
    ``warning_signs`` names the patient's own warning signs endorsed; ``warning_sign_count`` is the
    number endorsed when only a count is known (the larger of the two is used, so none is lost).
    """

    date: dt.date
    pcl5: int | None
    phq9_item9: int | None = None
    cssrs_risk: str | None = None
    warning_signs: Sequence[str] | None = ()
    warning_sign_count: int | None = None

    @property
    def signs_endorsed(self) -> int:
        named = len(set(self.warning_signs or ()))
        return max(named, self.warning_sign_count or 0)


@dataclass(frozen=True)
class PatientHistory:
    """A patient's course and check-ins as of a day. ``course_end`` None = the course is in progress."""

    baseline_pcl5: int
    course_start: dt.date
    course_end: dt.date | None
    as_of: dt.date
    checkins: Sequence[CheckIn] = ()
    next_due: dt.date | None = None


@dataclass(frozen=True)
class Reason:
    rule: Rule
    message: str


@dataclass(frozen=True)
class Assessment:
    """The state, every reason that holds (most severe first), and the numbers behind them."""

    state: RelapseState
    reasons: list[Reason]
    responded: bool
    best_pcl5: int | None
    baseline_pcl5: int
    latest_pcl5: int | None
    slope_points_per_week: float | None

    @property
    def rules(self) -> set[Rule]:
        return {reason.rule for reason in self.reasons}


# --- Rule helpers (exact, shared with the sweep) --------------------------------------------------


def response_limit_pcl5(baseline_pcl5: int, response_reduction_pct: int) -> int:
    """The highest PCL-5 total that still meets the response rule (product choice, Feder 2021 style).

    A score responds when it is at least ``response_reduction_pct`` % below the baseline, i.e.
    ``pcl5 <= baseline * (1 - pct/100)``; integer arithmetic, so baseline 50 at 30% gives exactly 35.
    A baseline of 0 gives 0: only a score of 0 "responds" (no room to improve).
    """
    return (baseline_pcl5 * (100 - response_reduction_pct)) // 100


def slope_points_per_week(days: Sequence[dt.date], scores: Sequence[int]) -> Fraction | None:
    """Ordinary least-squares slope of ``scores`` against time in weeks (days / 7), exactly.

    None for fewer than two points or when every point is on the same day (no time span).
    """
    n = len(days)
    if n < 2 or n != len(scores):
        return None
    origin = days[0].toordinal()
    xs = [d.toordinal() - origin for d in days]
    sum_x, sum_y = sum(xs), sum(scores)
    sxx = n * sum(x * x for x in xs) - sum_x * sum_x
    if sxx == 0:
        return None
    sxy = n * sum(x * y for x, y in zip(xs, scores, strict=True)) - sum_x * sum_y
    return Fraction(7 * sxy, sxx)


def _exact(value: float) -> Fraction:
    # The threshold as the clinician typed it (2.1 means 21/10, not its binary neighbour).
    return Fraction(repr(float(value)))


# --- Validation -----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _check_score(
    problems: list[FieldProblem], name: str, value: object, maximum: int, instrument: str
) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum):
        problems.append(FieldProblem(name, "range",
                                     f"{instrument} must be a whole number 0-{maximum}, got {value!r}"))


def validate_history(history: PatientHistory) -> None:
    """Raise CoreError listing every problem: scores out of range, dates outside the course, ..."""
    problems: list[FieldProblem] = []
    _check_score(problems, "baseline_pcl5", history.baseline_pcl5, PCL5_MAX, "PCL-5 baseline")
    dates_ok = True
    for name in ("course_start", "as_of"):
        if not _is_date(getattr(history, name)):
            problems.append(FieldProblem(name, "type", "must be a calendar date"))
            dates_ok = False
    for name in ("course_end", "next_due"):
        value = getattr(history, name)
        if value is not None and not _is_date(value):
            problems.append(FieldProblem(name, "type", "must be a calendar date or empty"))
            dates_ok = False
    if dates_ok and history.course_end is not None and history.course_end < history.course_start:
        problems.append(FieldProblem("course_end", "not_before_course_start",
                                     f"course end {history.course_end} is before course start "
                                     f"{history.course_start}"))
    for i, checkin in enumerate(history.checkins):
        where = f"checkins[{i}]"
        if not _is_date(checkin.date):
            problems.append(FieldProblem(f"{where}.date", "type", "must be a calendar date"))
        elif dates_ok:
            if checkin.date > history.as_of:
                problems.append(FieldProblem(f"{where}.date", "not_in_future",
                                             f"check-in date {checkin.date} is after {history.as_of}"))
            if checkin.date < history.course_start:
                problems.append(FieldProblem(f"{where}.date", "not_before_course",
                                             f"check-in date {checkin.date} is before the course start "
                                             f"{history.course_start}"))
        if checkin.pcl5 is not None:
            _check_score(problems, f"{where}.pcl5", checkin.pcl5, PCL5_MAX, "PCL-5 total")
        if checkin.phq9_item9 is not None:
            _check_score(problems, f"{where}.phq9_item9", checkin.phq9_item9, PHQ9_ITEM_MAX, "PHQ-9 item 9")
        if checkin.cssrs_risk is not None and checkin.cssrs_risk not in CSSRS_RISK_LEVELS:
            problems.append(FieldProblem(f"{where}.cssrs_risk", "known_level",
                                         f"C-SSRS risk must be one of {', '.join(CSSRS_RISK_LEVELS)}, "
                                         f"got {checkin.cssrs_risk!r}"))
        if checkin.warning_sign_count is not None and (
            not _is_int(checkin.warning_sign_count) or checkin.warning_sign_count < 0
        ):
            problems.append(FieldProblem(f"{where}.warning_sign_count", "range",
                                         "must be a whole number 0 or more, got "
                                         f"{checkin.warning_sign_count!r}"))
        if isinstance(checkin.warning_signs, str) or any(
            not isinstance(sign, str) or not sign.strip() for sign in checkin.warning_signs or ()
        ):
            problems.append(FieldProblem(f"{where}.warning_signs", "names",
                                         "must be a list of non-empty warning sign names"))
    if problems:
        raise CoreError(problems)


# --- Evaluation -----------------------------------------------------------------------------------


class _Score(NamedTuple):
    date: dt.date
    pcl5: int


def _ordered(history: PatientHistory) -> list[CheckIn]:
    # Stable sort: same-day check-ins keep their submission order; the last one is the latest.
    return sorted(history.checkins, key=lambda c: c.date)


def _scored(checkins: Sequence[CheckIn]) -> list[_Score]:
    return [_Score(c.date, c.pcl5) for c in checkins if c.pcl5 is not None]


def _listed(scores: Sequence[_Score]) -> str:
    return ", ".join(f"{s.pcl5} on {s.date}" for s in scores)


def _fmt(value: Fraction | float) -> str:
    text = f"{float(value):.2f}"  # 2.0, 2.5, 2.33
    return text[:-1] if text.endswith("0") else text


def evaluate(history: PatientHistory, policy: RelapsePolicy) -> Assessment:
    """Evaluate a patient's history as of ``history.as_of`` (product-choice rules; see the module doc).

    Scores are PCL-5 totals (points, 0-80); the trend is in points per week from the actual check-in
    dates. Raises CoreError for invalid input, every problem listed. Pure: no I/O, no clock.
    """
    validate_history(history)
    ordered = _ordered(history)
    scored = _scored(ordered)
    limit = response_limit_pcl5(history.baseline_pcl5, policy.response_reduction_pct)
    first_response = next((s for s in scored if s.pcl5 <= limit), None)
    best = min(scored, key=lambda s: s.pcl5) if scored else None  # earliest of equal lows
    latest_score = scored[-1] if scored else None
    trend = scored[-TREND_SCORES:] if len(scored) >= TREND_SCORES else []
    slope = slope_points_per_week([s.date for s in trend], [s.pcl5 for s in trend]) if trend else None
    response_rule = (f"{limit} or below, {policy.response_reduction_pct}% below baseline "
                     f"{history.baseline_pcl5}")
    reasons: list[Reason] = []

    if ordered:
        # urgent: every check-in of the latest day, so a second same-day submission never hides a flag.
        day = ordered[-1].date
        latest_day = [c for c in ordered if c.date == day]
        item9 = max((c.phq9_item9 for c in latest_day if c.phq9_item9 is not None), default=0)
        if item9 > 0:
            reasons.append(Reason(Rule.URGENT_PHQ9_ITEM9,
                                  f"PHQ-9 item 9 answered {item9} (above 0) on {day}: "
                                  "assess suicide risk the same day"))
        if any(c.cssrs_risk == "high" for c in latest_day):
            reasons.append(Reason(Rule.URGENT_CSSRS_HIGH,
                                  f"C-SSRS screen risk high on {day}: "
                                  "imminent risk, start the crisis workflow now"))

    # act: the latest N scores all fail the response rule after a response (which then precedes them).
    n_act = policy.act_consecutive_checkins
    last_n = scored[-n_act:]
    if first_response is not None and len(last_n) == n_act and all(s.pcl5 > limit for s in last_n):
        reasons.append(Reason(Rule.ACT_LOSS_OF_RESPONSE,
                              f"Loss of response: the last {n_act} PCL-5 scores ({_listed(last_n)}) "
                              f"no longer meet the response rule ({response_rule}); first responded with "
                              f"{first_response.pcl5} on {first_response.date}"))

    if latest_score is not None and best is not None:
        rise = latest_score.pcl5 - best.pcl5
        if rise >= policy.reliable_change_points:
            reasons.append(Reason(Rule.WATCH_RELIABLE_WORSENING,
                                  f"PCL-5 {latest_score.pcl5} on {latest_score.date} is {rise} points "
                                  f"above the best score {best.pcl5} of {best.date} (reliable change "
                                  f"{policy.reliable_change_points})"))
    if ordered:
        latest = ordered[-1]
        endorsed = latest.signs_endorsed
        if endorsed >= policy.watch_warning_signs:
            names = list(dict.fromkeys(latest.warning_signs or ()))
            listed = f" ({', '.join(names)})" if names else ""
            signs = "warning sign" if endorsed == 1 else "warning signs"
            reasons.append(Reason(Rule.WATCH_WARNING_SIGNS,
                                  f"{endorsed} {signs} endorsed on {latest.date}{listed}; "
                                  f"watch at {policy.watch_warning_signs}"))
    if slope is not None and slope >= _exact(policy.watch_slope_points_per_week):
        reasons.append(Reason(Rule.WATCH_RISING_TREND,
                              f"PCL-5 rising {_fmt(slope)} points/week over the last {TREND_SCORES} scores "
                              f"({_listed(trend)}); watch at {_fmt(policy.watch_slope_points_per_week)}"))
    if history.next_due is not None:
        overdue_days = (history.as_of - history.next_due).days
        if overdue_days > policy.watch_overdue_days:
            reasons.append(Reason(Rule.WATCH_OVERDUE,
                                  f"Check-in due {history.next_due} is {overdue_days} days overdue "
                                  f"(watch after {policy.watch_overdue_days})"))

    if history.course_end is not None and history.course_end <= history.as_of and first_response is None:
        if best is None:
            detail = "no PCL-5 score has been recorded since the course began"
        else:
            detail = f"no PCL-5 score met the response rule ({response_rule}); best score {best.pcl5}"
        reasons.append(Reason(Rule.NON_RESPONDER, f"Course ended {history.course_end} and {detail}"))

    if not reasons:
        if latest_score is None or best is None:
            summary = "no PCL-5 score yet"
        else:
            summary = (f"latest PCL-5 {latest_score.pcl5} on {latest_score.date}, best {best.pcl5}, "
                       f"baseline {history.baseline_pcl5}")
        status = "responded" if first_response is not None else "not yet responded, course in progress"
        reasons.append(Reason(Rule.STABLE, f"No warning rule holds: {summary}; {status}"))

    held = {RULE_STATE[r.rule] for r in reasons}
    return Assessment(
        state=next(s for s in SEVERITY_ORDER if s in held),
        reasons=reasons,
        responded=first_response is not None,
        best_pcl5=best.pcl5 if best is not None else None,
        baseline_pcl5=history.baseline_pcl5,
        latest_pcl5=latest_score.pcl5 if latest_score is not None else None,
        slope_points_per_week=float(slope) if slope is not None else None,
    )


def loss_of_response_date(
    history: PatientHistory, policy: RelapsePolicy, after: dt.date | None = None
) -> dt.date | None:
    """The first day on which ``act`` (loss of response) holds, or None if it never has.

    Only check-ins dated strictly after ``after`` count (None: every check-in since the course began),
    so the patient must respond, then lose the response, within that period. For the durability of a
    course or booster pass its end date; the days from that end to this date are one durability
    observation (core.maintenance). Same-day check-ins are judged together, as :func:`evaluate` would
    judge them on that day.
    """
    validate_history(history)
    limit = response_limit_pcl5(history.baseline_pcl5, policy.response_reduction_pct)
    scored = [s for s in _scored(_ordered(history)) if after is None or s.date > after]
    responded = False
    run = 0  # consecutive non-responding scores since the last responding one
    for i, score in enumerate(scored):
        if score.pcl5 <= limit:
            responded, run = True, 0
        elif responded:
            run += 1
        end_of_day = i + 1 == len(scored) or scored[i + 1].date != score.date
        if end_of_day and responded and run >= policy.act_consecutive_checkins:
            return score.date
    return None
