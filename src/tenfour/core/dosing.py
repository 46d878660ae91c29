"""Ketamine dose, infusion volume and pump rate from body weight, within the clinic's limits.

Sources: racemic ketamine 0.5 mg/kg IV over 40 min (Sanacora et al. 2017, JAMA Psychiatry 74:399-405;
Feder 2014 and 2021). Ideal body weight: Devine 1974 (men 50 kg, women 45.5 kg, + 2.3 kg per inch over
5 ft). Adjusted body weight: IBW + 0.4 x (actual - IBW). Clinic settings live in ``policy.py``
(``dose.*``). All arithmetic is ``Decimal`` with round-half-up, so results never carry float artefacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from enum import StrEnum
from typing import Any

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem

Number = int | float | Decimal | str


class WeightBasis(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


class Sex(StrEnum):
    """Sex for the Devine formula, which is defined only for men and women."""

    MALE = "male"
    FEMALE = "female"


# Input-plausibility limits: they reject typing errors and impossible values. They are NOT clinical
# thresholds and say nothing about whether a dose is appropriate.
MIN_WEIGHT_KG = Decimal(20)  # exclusive: weight must be > 20 kg
MAX_WEIGHT_KG = Decimal(350)  # inclusive
MIN_DURATION_MIN = Decimal(1)
MAX_DURATION_MIN = Decimal(240)
MAX_CONCENTRATION_MG_PER_ML = Decimal(100)  # ketamine is supplied at up to 100 mg/mL
MIN_HEIGHT_CM = Decimal(120)
MAX_HEIGHT_CM = Decimal(250)

# Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655.
DEVINE_BASE_KG = {Sex.MALE: Decimal("50"), Sex.FEMALE: Decimal("45.5")}
DEVINE_KG_PER_INCH = Decimal("2.3")
DEVINE_BASE_HEIGHT_IN = Decimal(60)  # 5 ft
CM_PER_INCH = Decimal("2.54")
ADJUSTED_FACTOR = Decimal("0.4")

# Product choices (no policy key yet): derived weights are shown AND used to 0.1 kg so that a second
# person can check the dose by hand from the weight on the screen; the volume is shown to 0.01 mL.
WEIGHT_STEP_KG = Decimal("0.1")
VOLUME_STEP_ML = Decimal("0.01")

# Warning codes (each warning string starts with its code and a colon).
WARN_DIFFERS_FROM_PLAN = "dose_differs_from_plan"
WARN_ACTUAL_BELOW_IDEAL = "actual_weight_below_ideal"
WARN_SHORT_FOR_DEVINE = "height_below_devine_range"
WARN_ROUNDED_DOWN_TO_MAX = "rounded_down_to_stay_within_max"

_POLICY_KEYS = {
    "weight_basis": "dose.weight_basis",
    "max_mg_per_kg": "dose.max_mg_per_kg",
    "rounding_mg": "dose.rounding_mg",
    "rounding_ml_per_h": "dose.rounding_ml_per_h",
    "max_weight_age_days": "dose.max_weight_age_days",
}


@dataclass(frozen=True)
class DosingPolicy:
    """The clinic's dosing settings (defaults and sources in ``policy.py``)."""

    weight_basis: str = policy.default("dose.weight_basis")
    max_mg_per_kg: float = policy.default("dose.max_mg_per_kg")
    rounding_mg: float = policy.default("dose.rounding_mg")
    rounding_ml_per_h: float = policy.default("dose.rounding_ml_per_h")
    max_weight_age_days: int = policy.default("dose.max_weight_age_days")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> DosingPolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{attr: values.get(key, policy.default(key)) for attr, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class DoseRequest:
    """What the nurse enters. ``weight_basis`` None means the clinic's policy; ``plan_mg_per_kg`` is the
    signed plan's dose, used to warn when the requested dose differs from it."""

    weight_kg: Number
    dose_mg_per_kg: Number
    duration_min: Number
    concentration_mg_per_ml: Number
    height_cm: Number | None = None
    sex: str | None = None
    weight_basis: str | None = None
    plan_mg_per_kg: Number | None = None


@dataclass(frozen=True)
class DoseResult:
    """Dose in mg, volume in mL and pump rate in mL/h, all rounded as the clinic sets.

    ``weight_basis`` is the basis actually used (``actual`` when the actual weight is below the ideal
    weight); ``formula`` names the weight formula with its numbers; each warning is ``"code: message"``.
    """

    dose_mg: Decimal
    volume_ml: Decimal
    rate_ml_per_h: Decimal
    weight_basis: WeightBasis
    dosing_weight_kg: Decimal
    formula: str
    warnings: list[str] = field(default_factory=list)
    ideal_body_weight_kg: Decimal | None = None
    max_dose_mg: Decimal | None = None


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` to the nearest multiple of ``step``, halves away from zero (40.25 -> 40.5 at 0.5)."""
    units = (value / step).to_integral_value(rounding=ROUND_HALF_UP)
    return (units * step).quantize(step)


def _round_down(value: Decimal, step: Decimal) -> Decimal:
    units = (value / step).to_integral_value(rounding=ROUND_FLOOR)
    return (units * step).quantize(step)


def _to_decimal(value: Any, name: str, problems: list[FieldProblem]) -> Decimal | None:
    """A finite Decimal from int/float/Decimal/str, or None with a problem recorded."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        problems.append(FieldProblem(name, "number", f"must be a number, got {value!r}"))
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        problems.append(FieldProblem(name, "number", f"must be a number, got {value!r}"))
        return None
    if not number.is_finite():
        problems.append(FieldProblem(name, "number", "must be a finite number"))
        return None
    return number


def _fmt(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros beyond what it carries (75.0 stays 75.0)."""
    return format(value, "f")


def ideal_body_weight_kg(height_cm: Decimal, sex: Sex) -> Decimal:
    """Ideal body weight by Devine 1974, unrounded: base (men 50 kg, women 45.5 kg) + 2.3 kg per inch over
    5 ft, with the height converted from cm (1 in = 2.54 cm). Below 5 ft the line is extended (a product
    choice; ``calculate_dose`` warns)."""
    height_in = height_cm / CM_PER_INCH
    return DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * (height_in - DEVINE_BASE_HEIGHT_IN)


def calculate_dose(request: DoseRequest, dosing_policy: DosingPolicy) -> DoseResult:
    """Dose (mg), volume (mL) and pump rate (mL/h) for one infusion.

    dose_mg = dosing weight (kg) x dose (mg/kg); volume_ml = dose_mg / concentration (mg/mL), from the
    rounded dose; rate_ml_per_h = volume_ml / (duration_min / 60). Dosing weight: actual body weight by
    default; ideal (Devine 1974) or adjusted (IBW + 0.4 x (ABW - IBW)) body weight as a clinic option, for
    which height_cm and sex are required. When the actual weight is below the ideal weight, the actual
    weight is used (common practice; warned). A dose above ``dose.max_mg_per_kg`` is refused
    (CoreError, rule ``max_dose``). Every bad input is reported at once (CoreError).
    Sources: Sanacora 2017 (0.5 mg/kg over 40 min); Devine 1974.
    """
    with localcontext() as ctx:
        ctx.prec = 28
        return _calculate(request, dosing_policy)


def _check_inputs(request: DoseRequest, dosing_policy: DosingPolicy) -> tuple[
    dict[str, Decimal], WeightBasis | None, Sex | None, list[FieldProblem]
]:
    problems: list[FieldProblem] = []
    raw = {
        "weight_kg": request.weight_kg,
        "dose_mg_per_kg": request.dose_mg_per_kg,
        "duration_min": request.duration_min,
        "concentration_mg_per_ml": request.concentration_mg_per_ml,
    }
    values: dict[str, Decimal] = {}
    for name, value in raw.items():
        number = _to_decimal(value, name, problems)
        if number is not None:
            values[name] = number

    def out_of_range(name: str, ok: bool, message: str) -> None:
        if name in values and not ok:
            problems.append(FieldProblem(name, "plausible_range", message))

    weight = values.get("weight_kg", Decimal(0))
    out_of_range("weight_kg", MIN_WEIGHT_KG < weight <= MAX_WEIGHT_KG,
                 f"{_fmt(weight)} kg is not a plausible weight (must be more than {MIN_WEIGHT_KG} kg "
                 f"and at most {MAX_WEIGHT_KG} kg)")
    mg_per_kg = values.get("dose_mg_per_kg", Decimal(0))
    out_of_range("dose_mg_per_kg", mg_per_kg > 0, "must be more than 0 mg/kg")
    duration = values.get("duration_min", Decimal(0))
    out_of_range("duration_min", MIN_DURATION_MIN <= duration <= MAX_DURATION_MIN,
                 f"{_fmt(duration)} min is outside {MIN_DURATION_MIN}-{MAX_DURATION_MIN} min")
    concentration = values.get("concentration_mg_per_ml", Decimal(0))
    out_of_range("concentration_mg_per_ml", 0 < concentration <= MAX_CONCENTRATION_MG_PER_ML,
                 f"{_fmt(concentration)} mg/mL is not plausible (must be more than 0 and at most "
                 f"{MAX_CONCENTRATION_MG_PER_ML} mg/mL)")

    max_mg_per_kg = Decimal(str(dosing_policy.max_mg_per_kg))
    if "dose_mg_per_kg" in values and mg_per_kg > max_mg_per_kg:
        problems.append(FieldProblem(
            "dose_mg_per_kg", "max_dose",
            f"{_fmt(mg_per_kg)} mg/kg is above the clinic maximum of {_fmt(max_mg_per_kg)} mg/kg "
            "(dose.max_mg_per_kg)"))

    if request.plan_mg_per_kg is not None:
        plan = _to_decimal(request.plan_mg_per_kg, "plan_mg_per_kg", problems)
        if plan is not None and plan <= 0:
            problems.append(FieldProblem("plan_mg_per_kg", "plausible_range", "must be more than 0 mg/kg"))

    basis_name = request.weight_basis if request.weight_basis is not None else dosing_policy.weight_basis
    basis: WeightBasis | None = None
    try:
        basis = WeightBasis(basis_name)
    except ValueError:
        problems.append(FieldProblem("weight_basis", "known_choice",
                                     f"{basis_name!r} is not one of: actual, ideal, adjusted"))

    sex: Sex | None = None
    if basis in (WeightBasis.IDEAL, WeightBasis.ADJUSTED):
        why = f"is required for dosing by {basis.value} body weight"
        if request.height_cm is None:
            problems.append(FieldProblem("height_cm", "required_for_weight_basis", why))
        else:
            height = _to_decimal(request.height_cm, "height_cm", problems)
            if height is not None:
                if MIN_HEIGHT_CM <= height <= MAX_HEIGHT_CM:
                    values["height_cm"] = height
                else:
                    problems.append(FieldProblem(
                        "height_cm", "plausible_range",
                        f"{_fmt(height)} cm is outside {MIN_HEIGHT_CM}-{MAX_HEIGHT_CM} cm"))
        if request.sex is None:
            problems.append(FieldProblem("sex", "required_for_weight_basis", why))
        else:
            try:
                sex = Sex(request.sex)
            except ValueError:
                problems.append(FieldProblem("sex", "known_choice",
                                             f"{request.sex!r} is not one of: male, female (Devine formula)"))
    return values, basis, sex, problems


def _calculate(request: DoseRequest, dosing_policy: DosingPolicy) -> DoseResult:
    values, basis, sex, problems = _check_inputs(request, dosing_policy)
    if problems:
        raise CoreError(problems)
    assert basis is not None  # _check_inputs reports an unknown basis as a problem
    warnings: list[str] = []
    actual_kg = values["weight_kg"]
    mg_per_kg = values["dose_mg_per_kg"]

    ideal_kg: Decimal | None = None
    used_basis = basis
    dosing_kg = actual_kg
    formula = f"actual body weight {_fmt(actual_kg)} kg"
    if basis is not WeightBasis.ACTUAL:
        assert sex is not None
        height_cm = values["height_cm"]
        height_in = height_cm / CM_PER_INCH
        ideal_kg = round_half_up(ideal_body_weight_kg(height_cm, sex), WEIGHT_STEP_KG)
        devine = (f"ideal body weight (Devine 1974, {sex.value}) = {_fmt(DEVINE_BASE_KG[sex])} kg + 2.3 kg x "
                  f"({_fmt(height_cm)} cm / 2.54 = {_fmt(round_half_up(height_in, Decimal('0.01')))} in - "
                  f"60 in) = {_fmt(ideal_kg)} kg")
        if height_in < DEVINE_BASE_HEIGHT_IN:
            warnings.append(f"{WARN_SHORT_FOR_DEVINE}: height {_fmt(height_cm)} cm is under 5 ft (152.4 cm); "
                            "the Devine formula is extended below its range (2.3 kg less per inch)")
        if actual_kg < ideal_kg:
            used_basis = WeightBasis.ACTUAL
            formula = (f"actual body weight {_fmt(actual_kg)} kg, because it is below the {devine}")
            warnings.append(f"{WARN_ACTUAL_BELOW_IDEAL}: actual weight {_fmt(actual_kg)} kg is below the "
                            f"ideal body weight {_fmt(ideal_kg)} kg; the actual weight is used "
                            "(common practice)")
        elif basis is WeightBasis.IDEAL:
            dosing_kg = ideal_kg
            formula = devine
        else:
            dosing_kg = round_half_up(ideal_kg + ADJUSTED_FACTOR * (actual_kg - ideal_kg), WEIGHT_STEP_KG)
            formula = (f"adjusted body weight = IBW + 0.4 x (actual - IBW) = {_fmt(ideal_kg)} + 0.4 x "
                       f"({_fmt(actual_kg)} - {_fmt(ideal_kg)}) = {_fmt(dosing_kg)} kg; {devine}")

    max_mg_per_kg = Decimal(str(dosing_policy.max_mg_per_kg))
    max_dose_mg = max_mg_per_kg * dosing_kg
    dose_step = Decimal(str(dosing_policy.rounding_mg))
    dose_mg = round_half_up(dosing_kg * mg_per_kg, dose_step)
    if dose_mg > max_dose_mg:
        # Rounding half-up must never carry the dose over the clinic maximum (product choice): round down.
        dose_mg = _round_down(dosing_kg * mg_per_kg, dose_step)
        warnings.append(f"{WARN_ROUNDED_DOWN_TO_MAX}: the dose was rounded down to {_fmt(dose_mg)} mg so it "
                        f"stays within the maximum of {_fmt(max_mg_per_kg)} mg/kg x {_fmt(dosing_kg)} kg = "
                        f"{_fmt(max_dose_mg)} mg")
    if dose_mg > max_dose_mg:
        raise CoreError.single("dose_mg", "max_dose",
                               f"{_fmt(dose_mg)} mg is above the clinic maximum of {_fmt(max_mg_per_kg)} "
                               f"mg/kg x {_fmt(dosing_kg)} kg = {_fmt(max_dose_mg)} mg (dose.max_mg_per_kg)")
    if dose_mg <= 0:
        raise CoreError.single("dose_mg", "rounds_to_zero",
                               f"the dose rounds to 0 mg at a rounding step of {_fmt(dose_step)} mg "
                               "(dose.rounding_mg)")

    volume_exact = dose_mg / values["concentration_mg_per_ml"]
    volume_ml = round_half_up(volume_exact, VOLUME_STEP_ML)
    rate_step = Decimal(str(dosing_policy.rounding_ml_per_h))
    rate_ml_per_h = round_half_up(volume_exact * 60 / values["duration_min"], rate_step)
    if rate_ml_per_h <= 0:
        raise CoreError.single("rate_ml_per_h", "rounds_to_zero",
                               f"the pump rate rounds to 0 mL/h at a rounding step of {_fmt(rate_step)} mL/h "
                               "(dose.rounding_ml_per_h)")

    if request.plan_mg_per_kg is not None and compare_to_plan(mg_per_kg, request.plan_mg_per_kg):
        plan = Decimal(str(request.plan_mg_per_kg))
        warnings.append(f"{WARN_DIFFERS_FROM_PLAN}: {_fmt(mg_per_kg)} mg/kg differs from the signed plan's "
                        f"{_fmt(plan)} mg/kg; a prescriber must approve the change")

    return DoseResult(
        dose_mg=dose_mg,
        volume_ml=volume_ml,
        rate_ml_per_h=rate_ml_per_h,
        weight_basis=used_basis,
        dosing_weight_kg=dosing_kg,
        formula=formula,
        warnings=warnings,
        ideal_body_weight_kg=ideal_kg,
        max_dose_mg=max_dose_mg,
    )


def compare_to_plan(dose_mg_per_kg: Number, plan_mg_per_kg: Number) -> bool:
    """True when the dose (mg/kg) differs from the signed plan's dose, i.e. a prescriber must approve it.

    Compared exactly as decimals (0.5 equals 0.50); any difference, up or down, counts.
    """
    problems: list[FieldProblem] = []
    dose = _to_decimal(dose_mg_per_kg, "dose_mg_per_kg", problems)
    plan = _to_decimal(plan_mg_per_kg, "plan_mg_per_kg", problems)
    if problems or dose is None or plan is None:
        raise CoreError(problems)
    return dose != plan


def _require_aware(value: datetime, name: str, problems: list[FieldProblem]) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        problems.append(FieldProblem(name, "timezone_aware", "must be a timezone-aware date and time"))


def weight_is_recent(measured_at: datetime, now: datetime, max_age_days: int) -> bool:
    """True when the weight was measured at most ``max_age_days`` days before ``now`` (policy
    ``dose.max_weight_age_days``, default 30; exactly 30 days old is still recent). A weight measured
    after ``now`` is refused (CoreError)."""
    problems: list[FieldProblem] = []
    _require_aware(measured_at, "measured_at", problems)
    _require_aware(now, "now", problems)
    if isinstance(max_age_days, bool) or not isinstance(max_age_days, int) or max_age_days < 0:
        problems.append(FieldProblem("max_age_days", "number", "must be a whole number of days, 0 or more"))
    if problems:
        raise CoreError(problems)
    age = now.astimezone(UTC) - measured_at.astimezone(UTC)
    if age < timedelta(0):
        raise CoreError.single("measured_at", "not_in_future", "the weight cannot be measured after now")
    return age <= timedelta(days=max_age_days)
