"""The parameters of a synthetic cohort, and the presets. Every parameter says whether its value is sourced (with the
source) or an assumption of the simulator; docs/simulate.md lists them.

Feder A, Costi S, Rutter SB, et al. A randomized controlled trial of repeated ketamine administration for chronic
posttraumatic stress disorder. Am J Psychiatry 2021;178(2):193-202. doi:10.1176/appi.ajp.2020.20050596:
response (>= 30 % CAPS-5 reduction after six infusions over two weeks) in 67 % with ketamine vs 20 % with midazolam;
among ketamine responders the median time to loss of response was 27.5 days after the course.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from tenfour.errors import Problem, ValidationFailed

FEDER_2021 = ("Feder et al. 2021, Am J Psychiatry 178(2):193-202, doi:10.1176/appi.ajp.2020.20050596")
SOURCED, ASSUMED = "sourced", "assumed"
DURABILITY_SHAPES = ("exponential", "weibull")


@dataclass(frozen=True)
class SimulationParams:
    """What the simulator draws for each synthetic patient. Probabilities are 0-1; days are calendar days."""

    response_probability: float = 0.67
    median_days_to_loss_of_response: float = 27.5  # from the end of the induction course
    durability_distribution: str = "exponential"
    durability_weibull_shape: float = 1.0  # only for "weibull" (1.0 is the exponential)
    baseline_pcl5_mean: float = 50.0
    baseline_pcl5_sd: float = 10.0
    responder_reduction: tuple[float, float] = (0.35, 0.70)  # share of the baseline, at full effect
    non_responder_reduction: tuple[float, float] = (0.0, 0.20)
    relapsed_reduction: tuple[float, float] = (0.0, 0.20)
    referral_lost_rate: float = 0.10  # declined or unreachable after the referral
    intake_incomplete_rate: float = 0.05
    ineligible_rate: float = 0.08  # an exclusion in the medical screening
    review_rate: float = 0.10  # a 'review' finding the prescriber overrides to eligible
    induction_dropout_rate: float = 0.05  # stops after 2-5 of the 6 infusions
    followup_dropout_per_week: float = 0.015  # stops checking in (lost to follow-up), per week after the course
    missed_checkin_rate: float = 0.05
    late_checkin_rate: float = 0.25  # answers a check-in one or two days after it is due
    adverse_event_rate: float = 0.08  # per infusion
    severe_adverse_event_share: float = 0.01  # of adverse events
    notify_vitals_rate: float = 0.04  # per infusion: one notify-level reading (the prescriber is called)
    stop_vitals_rate: float = 0.005  # per infusion: a stop-level reading (the infusion is stopped)
    suicide_risk_answer_rate: float = 0.005  # per check-in: PHQ-9 item 9 above 0 (low-risk C-SSRS)
    booster_acceptance: float = 0.7  # a prescriber accepts the booster proposed after a loss of response
    research_consent_rate: float = 0.85
    share_with_own_clinician_rate: float = 0.5
    enrolment_start_days_ago: int = 330  # referrals arrive between these two days before today
    enrolment_end_days_ago: int = 150

    def durability_scale(self) -> float:
        """The Weibull scale (days) whose median is ``median_days_to_loss_of_response``."""
        shape = self.shape()
        return self.median_days_to_loss_of_response / math.log(2) ** (1 / shape)

    def shape(self) -> float:
        return 1.0 if self.durability_distribution == "exponential" else self.durability_weibull_shape


# Which values are sourced, and from where; everything else is an assumption of the simulator (docs/simulate.md).
SOURCES: dict[str, dict[str, str]] = {
    "feder2021": {
        "response_probability": FEDER_2021 + ": 67 % of the ketamine arm responded (>= 30 % CAPS-5 reduction)",
        "median_days_to_loss_of_response": FEDER_2021 + ": median 27.5 days to loss of response among ketamine "
                                                        "responders, after the two-week course",
    },
    "feder2021-midazolam": {
        "response_probability": FEDER_2021 + ": 20 % of the midazolam (active placebo) arm responded",
    },
}

PRESETS: dict[str, SimulationParams] = {
    "feder2021": SimulationParams(),
    # The control arm: what a clinic would see if infusions did no more than an active placebo. The durability of
    # placebo responders was not reported: the ketamine figure is kept (assumption).
    "feder2021-midazolam": SimulationParams(response_probability=0.20),
}

PROBABILITIES = ("response_probability", "referral_lost_rate", "intake_incomplete_rate", "ineligible_rate",
                 "review_rate", "induction_dropout_rate", "followup_dropout_per_week", "missed_checkin_rate",
                 "late_checkin_rate", "adverse_event_rate", "severe_adverse_event_share", "notify_vitals_rate",
                 "stop_vitals_rate", "suicide_risk_answer_rate", "booster_acceptance", "research_consent_rate",
                 "share_with_own_clinician_rate")
RANGES = ("responder_reduction", "non_responder_reduction", "relapsed_reduction")


def source_of(preset: str, name: str) -> tuple[str, str]:
    """(SOURCED, source) or (ASSUMED, "assumption of the simulator") for one parameter of a preset."""
    found = SOURCES.get(preset, {}).get(name)
    if found:
        return SOURCED, found
    if name == "median_days_to_loss_of_response" and preset == "feder2021-midazolam":
        return ASSUMED, "not reported for the midazolam arm; the ketamine arm's 27.5 days is kept"
    return ASSUMED, "assumption of the simulator (docs/simulate.md)"


def described(preset: str, params: SimulationParams) -> list[dict[str, Any]]:
    """Every parameter with its value, whether it is sourced, and the source (for the CLI and the docs)."""
    rows = []
    for item in fields(params):
        value = getattr(params, item.name)
        basis, source = source_of(preset, item.name)
        if value != getattr(PRESETS.get(preset, SimulationParams()), item.name):
            basis, source = ASSUMED, "set on the command line"
        rows.append({"name": item.name, "value": value, "basis": basis, "source": source})
    return rows


def preset(name: str, **overrides: Any) -> SimulationParams:
    """A preset with some values replaced (None leaves a value as the preset has it); checked."""
    if name not in PRESETS:
        raise ValidationFailed.single("preset", "known_preset", f"must be one of: {', '.join(sorted(PRESETS))}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(chosen) - {f.name for f in fields(SimulationParams)})
    if unknown:
        raise ValidationFailed.single(unknown[0], "known_parameter", "is not a simulation parameter")
    params = replace(PRESETS[name], **chosen)
    check(params)
    return params


def check(params: SimulationParams) -> None:
    """ValidationFailed naming every parameter that is out of its range."""
    problems: list[Problem] = []
    for name in PROBABILITIES:
        value = getattr(params, name)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            problems.append(Problem(name, "probability", "must be between 0 and 1"))
    for name in RANGES:
        low, high = getattr(params, name)
        if not 0 <= low <= high <= 1:
            problems.append(Problem(name, "share_range", "must be two shares 0 <= low <= high <= 1"))
    if params.responder_reduction[0] < 0.31:
        problems.append(Problem("responder_reduction", "meets_response_rule",
                                "must start at 0.31 or more: a responder's score is at least 30 % below baseline"))
    for name in ("non_responder_reduction", "relapsed_reduction"):
        if getattr(params, name)[1] > 0.25:
            problems.append(Problem(name, "below_response_rule",
                                    "must end at 0.25 or less: these scores must stay short of a response"))
    if not 1 <= params.median_days_to_loss_of_response <= 365:
        problems.append(Problem("median_days_to_loss_of_response", "range", "must be between 1 and 365 days"))
    if params.durability_distribution not in DURABILITY_SHAPES:
        problems.append(Problem("durability_distribution", "known_choice",
                                f"must be one of: {', '.join(DURABILITY_SHAPES)}"))
    if not 0.2 <= params.durability_weibull_shape <= 10:
        problems.append(Problem("durability_weibull_shape", "range", "must be between 0.2 and 10"))
    if not 20 <= params.baseline_pcl5_mean <= 75 or not 0 <= params.baseline_pcl5_sd <= 20:
        problems.append(Problem("baseline_pcl5_mean", "range",
                                "the mean must be 20-75 PCL-5 points and the SD at most 20"))
    if not 120 <= params.enrolment_end_days_ago < params.enrolment_start_days_ago <= 340:
        problems.append(Problem("enrolment_start_days_ago", "range",
                                "referrals must arrive 120 to 340 days ago (intake readings must be under a year "
                                "old), the start before the end"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
