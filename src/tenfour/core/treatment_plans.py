"""Treatment plans: the induction protocol's defaults and the limits a plan must respect.

Defaults come from clinic policy (``policy.py``): 6 infusions (``course.induction_sessions``) of 0.5 mg/kg
(``dose.default_mg_per_kg``) over 40 min (``dose.infusion_duration_min``), at most 3 a week
(``course.max_sessions_per_week``) — Feder et al. 2021 and the APA consensus (Sanacora et al. 2017).
A dose above ``dose.max_mg_per_kg`` is refused, naming the limit. Pure Python: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem

INDUCTION, BOOSTER, SINGLE = "induction", "booster", "single"
PROTOCOLS = (INDUCTION, BOOSTER, SINGLE)
PROTOCOL_LABELS = {INDUCTION: "Induction series", BOOSTER: "Booster (one maintenance infusion)",
                   SINGLE: "Single infusion"}
MICROGRAMS_PER_MG = 1000
# Input-plausibility limits, not clinical thresholds (the clinical ones are policy, checked below).
MAX_INDUCTION_INFUSIONS = policy.BY_KEY["course.induction_sessions"].maximum or 12
DURATION_RANGE_MIN = (int(policy.BY_KEY["dose.infusion_duration_min"].minimum or 10),
                      int(policy.BY_KEY["dose.infusion_duration_min"].maximum or 240))

_POLICY_KEYS = {
    "induction_sessions": "course.induction_sessions",
    "default_mg_per_kg": "dose.default_mg_per_kg",
    "max_mg_per_kg": "dose.max_mg_per_kg",
    "infusion_duration_min": "dose.infusion_duration_min",
    "max_sessions_per_week": "course.max_sessions_per_week",
}


@dataclass(frozen=True)
class PlanPolicy:
    """The clinic's course and dose settings a plan starts from and must stay within."""

    induction_sessions: int = policy.default("course.induction_sessions")
    default_mg_per_kg: float = policy.default("dose.default_mg_per_kg")
    max_mg_per_kg: float = policy.default("dose.max_mg_per_kg")
    infusion_duration_min: int = policy.default("dose.infusion_duration_min")
    max_sessions_per_week: int = policy.default("course.max_sessions_per_week")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> PlanPolicy:
        return cls(**{attr: values.get(key, policy.default(key)) for attr, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class PlanValues:
    """A plan's protocol in exact units: the dose in micrograms per kg (500 = 0.5 mg/kg)."""

    protocol: str
    infusions_planned: int
    dose_ug_per_kg: int
    infusion_duration_min: int
    max_infusions_per_week: int

    @property
    def dose_mg_per_kg(self) -> Decimal:
        return Decimal(self.dose_ug_per_kg) / MICROGRAMS_PER_MG


def defaults(plan_policy: PlanPolicy, protocol: str = INDUCTION) -> PlanValues:
    """The clinic's protocol by default: the induction series, or one infusion for a booster or single."""
    return PlanValues(
        protocol=protocol,
        infusions_planned=plan_policy.induction_sessions if protocol == INDUCTION else 1,
        dose_ug_per_kg=int(Decimal(str(plan_policy.default_mg_per_kg)) * MICROGRAMS_PER_MG),
        infusion_duration_min=plan_policy.infusion_duration_min,
        max_infusions_per_week=plan_policy.max_sessions_per_week,
    )


def _whole(raw: Any, name: str, low: int, high: int, unit: str, problems: list[FieldProblem]) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.append(FieldProblem(name, "required", "is required"))
        return None
    if isinstance(raw, bool):
        problems.append(FieldProblem(name, "whole_number", "must be a whole number"))
        return None
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        problems.append(FieldProblem(name, "whole_number", f"must be a whole number, got {raw!r}"))
        return None
    if not number.is_finite() or number != number.to_integral_value():
        problems.append(FieldProblem(name, "whole_number", "must be a whole number"))
        return None
    value = int(number)
    if not low <= value <= high:
        problems.append(FieldProblem(name, "plausible_range", f"must be from {low} to {high} {unit}".rstrip()))
        return None
    return value


def _dose(raw: Any, plan_policy: PlanPolicy, problems: list[FieldProblem]) -> int | None:
    name = "dose_mg_per_kg"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.append(FieldProblem(name, "required", "is required"))
        return None
    try:
        dose = Decimal(str(raw).strip()) if not isinstance(raw, bool) else Decimal("NaN")
    except InvalidOperation:
        dose = Decimal("NaN")
    if not dose.is_finite():
        problems.append(FieldProblem(name, "number", f"must be a number in mg/kg, got {raw!r}"))
        return None
    if dose <= 0:
        problems.append(FieldProblem(name, "plausible_range", "must be more than 0 mg/kg"))
        return None
    limit = Decimal(str(plan_policy.max_mg_per_kg))
    if dose > limit:
        problems.append(FieldProblem(name, "max_dose", f"{dose.normalize():f} mg/kg is above the clinic maximum of "
                                                       f"{limit.normalize():f} mg/kg (dose.max_mg_per_kg)"))
        return None
    micrograms = dose * MICROGRAMS_PER_MG
    if micrograms != micrograms.to_integral_value():
        problems.append(FieldProblem(name, "precision", "give the dose to at most 3 decimal places (micrograms)"))
        return None
    return int(micrograms)


def check_plan(protocol: Any, infusions_planned: Any, dose_mg_per_kg: Any, infusion_duration_min: Any,
               max_infusions_per_week: Any, plan_policy: PlanPolicy) -> PlanValues:
    """Validate a plan against the clinic's policy; one CoreError lists every problem (field + rule).

    Rules: a known protocol; an induction of 1 to 12 infusions, a booster or single infusion exactly one; a
    dose above 0 and at most ``dose.max_mg_per_kg`` (rule ``max_dose``, naming the limit) in whole
    micrograms per kg; an infusion of 10-240 min; at most ``course.max_sessions_per_week`` a week.
    """
    problems: list[FieldProblem] = []
    if protocol not in PROTOCOLS:
        problems.append(FieldProblem("protocol", "known_protocol", f"must be one of: {', '.join(PROTOCOLS)}"))
    count = _whole(infusions_planned, "infusions_planned", 1, int(MAX_INDUCTION_INFUSIONS), "infusions", problems)
    if count is not None and protocol in (BOOSTER, SINGLE) and count != 1:
        problems.append(FieldProblem("infusions_planned", "one_infusion",
                                     f"a {protocol} plan is one infusion; plan a series as an induction"))
    dose = _dose(dose_mg_per_kg, plan_policy, problems)
    duration = _whole(infusion_duration_min, "infusion_duration_min", *DURATION_RANGE_MIN, "min", problems)
    per_week = _whole(max_infusions_per_week, "max_infusions_per_week", 1, 7, "a week", problems)
    if per_week is not None and per_week > plan_policy.max_sessions_per_week:
        problems.append(FieldProblem("max_infusions_per_week", "max_per_week",
                                     f"{per_week} a week is above the clinic limit of "
                                     f"{plan_policy.max_sessions_per_week} (course.max_sessions_per_week)"))
    if problems:
        raise CoreError(problems)
    assert count is not None and dose is not None and duration is not None and per_week is not None
    return PlanValues(str(protocol), count, dose, duration, per_week)
