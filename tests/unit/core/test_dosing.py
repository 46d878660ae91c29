"""Dose, volume and pump rate against hand-worked examples, limits and rounding boundaries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import policy
from tenfour.core.dosing import (
    WARN_ACTUAL_BELOW_IDEAL,
    WARN_DIFFERS_FROM_PLAN,
    WARN_ROUNDED_DOWN_TO_MAX,
    WARN_SHORT_FOR_DEVINE,
    DoseRequest,
    DosingPolicy,
    WeightBasis,
    calculate_dose,
    compare_to_plan,
    ideal_body_weight_kg,
    round_half_up,
    weight_is_recent,
)
from tenfour.core.errors import CoreError

DEFAULT = DosingPolicy()


def dose(weight_kg=80, mg_per_kg=0.5, duration_min=40, concentration=1, dosing_policy=DEFAULT, **kw):
    return calculate_dose(DoseRequest(weight_kg, mg_per_kg, duration_min, concentration, **kw), dosing_policy)


def problems(error: pytest.ExceptionInfo[CoreError]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in error.value.problems}


# --- policy -----------------------------------------------------------------------------------------


def test_policy_defaults_come_from_clinic_policy():
    assert DEFAULT.weight_basis == "actual"
    assert DEFAULT.max_mg_per_kg == 1.0
    assert DEFAULT.rounding_mg == 0.5
    assert DEFAULT.rounding_ml_per_h == 0.1
    assert DEFAULT.max_weight_age_days == 30


def test_from_policy_reads_clinic_overrides():
    values = policy.resolve({"dose.weight_basis": "ideal", "dose.max_mg_per_kg": 0.75, "dose.rounding_mg": 1})
    built = DosingPolicy.from_policy(values)
    assert built.weight_basis == "ideal"
    assert built.max_mg_per_kg == 0.75
    assert built.rounding_mg == 1.0
    assert DosingPolicy.from_policy(policy.resolve({})) == DEFAULT


# --- worked examples: actual body weight --------------------------------------------------------------


def test_brief_example_80_kg():
    # 80 kg x 0.5 mg/kg = 40 mg; 40 mg / 1 mg/mL = 40 mL; 40 mL / (40/60 h) = 60 mL/h
    result = dose(80, 0.5, 40, 1)
    assert result.dose_mg == Decimal("40.0")
    assert result.volume_ml == Decimal("40.00")
    assert result.rate_ml_per_h == Decimal("60.0")
    assert result.weight_basis is WeightBasis.ACTUAL
    assert result.dosing_weight_kg == Decimal("80")
    assert result.formula == "actual body weight 80 kg"
    assert result.warnings == []


def test_concentrated_solution_and_other_duration():
    # 70 kg x 0.5 = 35 mg; at 10 mg/mL = 3.5 mL; over 40 min: 3.5 x 60/40 = 5.25 -> 5.3 mL/h (half-up)
    result = dose(70, 0.5, 40, 10)
    assert (result.dose_mg, result.volume_ml, result.rate_ml_per_h) == (
        Decimal("35.0"), Decimal("3.50"), Decimal("5.3"))
    # 70 kg x 0.5 = 35 mg; 1 mg/mL = 35 mL; over 60 min: 35 mL/h
    assert dose(70, 0.5, 60, 1).rate_ml_per_h == Decimal("35.0")


# --- worked examples: ideal and adjusted body weight (Devine 1974) ----------------------------------------


def test_devine_ideal_weight_180_cm_man():
    # 180 cm / 2.54 = 70.866 in; 70.866 - 60 = 10.866 in; 50 + 2.3 x 10.866 = 74.992 kg (75.0 to 0.1 kg)
    assert round_half_up(ideal_body_weight_kg(Decimal(180), "male"), Decimal("0.1")) == Decimal("75.0")


def test_devine_ideal_weight_165_cm_woman():
    # 165 cm / 2.54 = 64.961 in; 4.961 in over 5 ft; 45.5 + 2.3 x 4.961 = 56.909 kg (56.9 to 0.1 kg)
    assert round_half_up(ideal_body_weight_kg(Decimal(165), "female"), Decimal("0.1")) == Decimal("56.9")


def test_ideal_body_weight_man_180_cm_100_kg():
    # IBW 75.0 kg x 0.5 = 37.5 mg; 37.5 mL at 1 mg/mL; 37.5 x 60/40 = 56.25 -> 56.3 mL/h
    # (half-up; float round(56.25, 1) gives 56.2 by half-even)
    result = dose(100, 0.5, 40, 1, height_cm=180, sex="male", weight_basis="ideal")
    assert result.weight_basis is WeightBasis.IDEAL
    assert result.ideal_body_weight_kg == Decimal("75.0")
    assert result.dosing_weight_kg == Decimal("75.0")
    assert result.dose_mg == Decimal("37.5")
    assert result.volume_ml == Decimal("37.50")
    assert result.rate_ml_per_h == Decimal("56.3")
    assert "Devine 1974" in result.formula and "75.0 kg" in result.formula


def test_adjusted_body_weight_man_180_cm_100_kg():
    # AdjBW = 75.0 + 0.4 x (100 - 75.0) = 75.0 + 10.0 = 85.0 kg; 85.0 x 0.5 = 42.5 mg; 42.5 mL;
    # 42.5 x 60/40 = 63.75 -> 63.8 mL/h
    result = dose(100, 0.5, 40, 1, height_cm=180, sex="male", weight_basis="adjusted")
    assert result.weight_basis is WeightBasis.ADJUSTED
    assert result.dosing_weight_kg == Decimal("85.0")
    assert result.dose_mg == Decimal("42.5")
    assert result.volume_ml == Decimal("42.50")
    assert result.rate_ml_per_h == Decimal("63.8")
    assert result.formula.startswith("adjusted body weight = IBW + 0.4 x (actual - IBW)")
    assert "75.0 + 0.4 x (100 - 75.0) = 85.0 kg" in result.formula


def test_ideal_body_weight_woman_165_cm_90_kg():
    # IBW 56.9 kg x 0.5 = 28.45 mg -> 28.5 mg (0.5 mg steps: 56.9 steps -> 57); 28.5 mL;
    # 28.5 x 60/40 = 42.75 -> 42.8 mL/h
    result = dose(90, 0.5, 40, 1, height_cm=165, sex="female", weight_basis="ideal")
    assert result.dosing_weight_kg == Decimal("56.9")
    assert result.dose_mg == Decimal("28.5")
    assert result.volume_ml == Decimal("28.50")
    assert result.rate_ml_per_h == Decimal("42.8")


def test_adjusted_body_weight_woman_165_cm_90_kg():
    # AdjBW = 56.9 + 0.4 x (90 - 56.9) = 56.9 + 13.24 = 70.14 -> 70.1 kg; 70.1 x 0.5 = 35.05 mg
    # -> 35.0 mg (0.5 mg steps: 70.1 steps -> 70); 35.0 mL; 35 x 60/40 = 52.5 mL/h
    result = dose(90, 0.5, 40, 1, height_cm=165, sex="female", weight_basis="adjusted")
    assert result.dosing_weight_kg == Decimal("70.1")
    assert result.dose_mg == Decimal("35.0")
    assert result.volume_ml == Decimal("35.00")
    assert result.rate_ml_per_h == Decimal("52.5")


def test_actual_weight_below_ideal_uses_actual_and_warns():
    # 165 cm woman, IBW 56.9 kg, weighs 50 kg: actual 50 kg is used; 25.0 mg; 25 x 1.5 = 37.5 mL/h
    for basis in ("ideal", "adjusted"):
        result = dose(50, 0.5, 40, 1, height_cm=165, sex="female", weight_basis=basis)
        assert result.weight_basis is WeightBasis.ACTUAL
        assert result.dosing_weight_kg == Decimal("50")
        assert result.dose_mg == Decimal("25.0")
        assert result.rate_ml_per_h == Decimal("37.5")
        assert any(w.startswith(WARN_ACTUAL_BELOW_IDEAL + ":") for w in result.warnings)
        assert "below the ideal body weight" in result.formula


def test_actual_weight_equal_to_ideal_uses_the_requested_basis():
    result = dose(75, 0.5, 40, 1, height_cm=180, sex="male", weight_basis="ideal")
    assert result.weight_basis is WeightBasis.IDEAL
    assert result.warnings == []


def test_clinic_policy_basis_applies_when_request_does_not_choose():
    clinic = DosingPolicy(weight_basis="adjusted")
    result = dose(100, 0.5, 40, 1, dosing_policy=clinic, height_cm=180, sex="male")
    assert result.dosing_weight_kg == Decimal("85.0")
    # A request may still ask for actual weight explicitly
    assert dose(100, 0.5, 40, 1, dosing_policy=clinic, weight_basis="actual").dose_mg == Decimal("50.0")


def test_short_stature_extends_devine_and_warns():
    # 150 cm / 2.54 = 59.055 in: 0.945 in under 5 ft; 50 - 2.3 x 0.945 = 47.83 -> 47.8 kg
    result = dose(60, 0.5, 40, 1, height_cm=150, sex="male", weight_basis="ideal")
    assert result.dosing_weight_kg == Decimal("47.8")
    assert any(w.startswith(WARN_SHORT_FOR_DEVINE + ":") for w in result.warnings)


def test_ideal_and_adjusted_require_height_and_sex():
    for basis in ("ideal", "adjusted"):
        with pytest.raises(CoreError) as error:
            dose(90, 0.5, 40, 1, weight_basis=basis)
        assert problems(error) == {("height_cm", "required_for_weight_basis"),
                                   ("sex", "required_for_weight_basis")}


def test_sex_outside_the_devine_formula_and_implausible_height_are_refused():
    with pytest.raises(CoreError) as error:
        dose(90, 0.5, 40, 1, weight_basis="ideal", height_cm=300, sex="x")
    assert problems(error) == {("height_cm", "plausible_range"), ("sex", "known_choice")}


def test_unknown_weight_basis_is_refused():
    with pytest.raises(CoreError) as error:
        dose(weight_basis="lean")
    assert problems(error) == {("weight_basis", "known_choice")}


# --- rounding ---------------------------------------------------------------------------------------


def test_dose_rounds_half_up_at_quarter_boundary():
    # 80.5 x 0.5 = 40.25 mg: exactly half a 0.5 mg step -> up to 40.5 (half-even would give 40.0)
    assert dose(80.5).dose_mg == Decimal("40.5")
    # 80.4 x 0.5 = 40.2 -> 40.0; 81.5 x 0.5 = 40.75 -> 41.0
    assert dose(80.4).dose_mg == Decimal("40.0")
    assert dose(81.5).dose_mg == Decimal("41.0")


def test_dose_rounding_has_no_float_artefact():
    # 70.1 x 0.5 = 35.05 mg; to 0.1 mg half-up = 35.1 (float round(70.1 * 0.5, 1) gives 35.0)
    fine = DosingPolicy(rounding_mg=0.1)
    assert round(70.1 * 0.5, 1) == 35.0  # the artefact we must not have
    assert dose(70.1, dosing_policy=fine).dose_mg == Decimal("35.1")


def test_volume_is_from_the_rounded_dose():
    # 80.5 kg x 0.5 = 40.25 -> 40.5 mg; volume 40.5 mL (not 40.25); rate 40.5 x 1.5 = 60.75 -> 60.8 mL/h
    result = dose(80.5)
    assert result.volume_ml == Decimal("40.50")
    assert result.rate_ml_per_h == Decimal("60.8")


def test_rate_rounding_step_from_policy():
    # 81 kg x 0.5 = 40.5 mg; 40.5 mL/h x 1.5 = 60.75: to 1 mL/h -> 61; to 0.5 mL/h -> 61.0 (60.75 is
    # exactly half-way between 60.5 and 61.0 -> up)
    assert dose(81, dosing_policy=DosingPolicy(rounding_ml_per_h=1)).rate_ml_per_h == Decimal("61")
    assert dose(81, dosing_policy=DosingPolicy(rounding_ml_per_h=0.5)).rate_ml_per_h == Decimal("61.0")


def test_whole_mg_rounding():
    # 85 x 0.5 = 42.5 mg -> to 1 mg half-up = 43; 43 mL; 43 x 1.5 = 64.5 mL/h
    result = dose(85, dosing_policy=DosingPolicy(rounding_mg=1))
    assert result.dose_mg == Decimal("43")
    assert result.rate_ml_per_h == Decimal("64.5")


def test_round_half_up_helper():
    assert round_half_up(Decimal("0.05"), Decimal("0.1")) == Decimal("0.1")
    assert round_half_up(Decimal("2.5"), Decimal("1")) == Decimal("3")
    assert round_half_up(Decimal("3.5"), Decimal("1")) == Decimal("4")
    assert round_half_up(Decimal("40.24"), Decimal("0.5")) == Decimal("40.0")


# --- limits ----------------------------------------------------------------------------------------


def test_dose_above_clinic_maximum_is_refused_naming_the_limit():
    with pytest.raises(CoreError) as error:
        dose(80, 1.1)
    assert problems(error) == {("dose_mg_per_kg", "max_dose")}
    assert "1.0 mg/kg" in str(error.value) and "dose.max_mg_per_kg" in str(error.value)


def test_dose_at_clinic_maximum_is_allowed():
    assert dose(80, 1.0).dose_mg == Decimal("80.0")
    assert dose(80, "0.75", dosing_policy=DosingPolicy(max_mg_per_kg=0.75)).dose_mg == Decimal("60.0")


def test_rounding_never_carries_the_dose_over_the_maximum():
    # max 0.5 mg/kg, 80.9 kg: max 40.45 mg; 40.45 would round half-up to 40.5 (over) -> 40.0, warned
    result = dose(80.9, 0.5, dosing_policy=DosingPolicy(max_mg_per_kg=0.5))
    assert result.dose_mg == Decimal("40.0")
    assert result.max_dose_mg == Decimal("40.45")
    assert any(w.startswith(WARN_ROUNDED_DOWN_TO_MAX + ":") for w in result.warnings)


@pytest.mark.parametrize(("weight", "ok"), [(0, False), (20, False), (20.1, True), (350, True),
                                            (350.1, False), (400, False), (-5, False)])
def test_weight_plausibility(weight, ok):
    if ok:
        assert dose(weight).dose_mg > 0
    else:
        with pytest.raises(CoreError) as error:
            dose(weight)
        assert problems(error) == {("weight_kg", "plausible_range")}


@pytest.mark.parametrize(("duration", "ok"), [(0, False), (1, True), (240, True), (241, False)])
def test_duration_plausibility(duration, ok):
    if ok:
        assert dose(80, 0.5, duration).rate_ml_per_h > 0
    else:
        with pytest.raises(CoreError) as error:
            dose(80, 0.5, duration)
        assert problems(error) == {("duration_min", "plausible_range")}


@pytest.mark.parametrize(("concentration", "ok"), [(0, False), (-1, False), (0.1, True), (100, True),
                                                   (101, False)])
def test_concentration_plausibility(concentration, ok):
    if ok:
        assert dose(80, 0.5, 40, concentration).volume_ml > 0
    else:
        with pytest.raises(CoreError) as error:
            dose(80, 0.5, 40, concentration)
        assert problems(error) == {("concentration_mg_per_ml", "plausible_range")}


def test_every_problem_is_reported_at_once():
    with pytest.raises(CoreError) as error:
        calculate_dose(DoseRequest(400, 0, 0, 0), DEFAULT)
    assert problems(error) == {("weight_kg", "plausible_range"), ("dose_mg_per_kg", "plausible_range"),
                               ("duration_min", "plausible_range"),
                               ("concentration_mg_per_ml", "plausible_range")}


@pytest.mark.parametrize("bad", [True, None, "eighty", float("nan"), float("inf"), [80]])
def test_non_numbers_are_refused(bad):
    with pytest.raises(CoreError) as error:
        dose(bad)
    assert problems(error) == {("weight_kg", "number")}


def test_numbers_as_decimal_and_text_are_accepted():
    assert dose(Decimal("80.5"), "0.5").dose_mg == Decimal("40.5")


# --- plan ------------------------------------------------------------------------------------------


def test_dose_differing_from_plan_warns():
    result = dose(80, 0.6, plan_mg_per_kg=0.5)
    assert result.dose_mg == Decimal("48.0")
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(WARN_DIFFERS_FROM_PLAN + ":")
    assert "prescriber" in result.warnings[0]
    assert dose(80, 0.5, plan_mg_per_kg="0.50").warnings == []


def test_compare_to_plan_true_means_a_prescriber_is_needed():
    assert compare_to_plan(0.5, 0.5) is False
    assert compare_to_plan("0.50", 0.5) is False
    assert compare_to_plan(0.6, 0.5) is True
    assert compare_to_plan(0.4, 0.5) is True
    with pytest.raises(CoreError):
        compare_to_plan("x", 0.5)


# --- weight recency ----------------------------------------------------------------------------------


def test_weight_is_recent_boundary():
    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert weight_is_recent(now - timedelta(days=30), now, 30) is True
    assert weight_is_recent(now - timedelta(days=30, seconds=1), now, 30) is False
    assert weight_is_recent(now, now, 30) is True


def test_weight_recency_across_time_zones():
    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    measured = datetime(2026, 4, 1, 5, 0, tzinfo=ZoneInfo("America/New_York"))  # 09:00 UTC, 30 days
    assert weight_is_recent(measured, now, 30) is True


def test_weight_in_the_future_or_naive_is_refused():
    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(CoreError) as error:
        weight_is_recent(now + timedelta(minutes=1), now, 30)
    assert problems(error) == {("measured_at", "not_in_future")}
    with pytest.raises(CoreError) as error:
        weight_is_recent(datetime(2026, 4, 1), now, 30)
    assert problems(error) == {("measured_at", "timezone_aware")}


# --- properties --------------------------------------------------------------------------------------

weights = st.decimals(min_value="20.1", max_value="350", places=1)
mg_per_kg = st.decimals(min_value="0.05", max_value="1.0", places=2)
durations = st.integers(min_value=1, max_value=240)
concentrations = st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("2"), Decimal("10"), Decimal("50")])


@given(weights, mg_per_kg, durations, concentrations)
def test_properties_of_every_dose(weight, per_kg, duration, concentration):
    try:
        result = dose(weight, per_kg, duration, concentration)
    except CoreError as error:
        # only a pump rate under half a 0.1 mL/h step may be refused (tiny volumes at high concentration)
        assert [(p.field, p.rule) for p in error.problems] == [("rate_ml_per_h", "rounds_to_zero")]
        assert (weight * per_kg - Decimal("0.25")) / concentration * 60 / duration < Decimal("0.05")
        return
    exact = weight * per_kg
    step = Decimal("0.5")
    # never above the maximum, and within one rounding step of the exact dose
    assert result.dose_mg <= Decimal("1.0") * weight
    assert abs(result.dose_mg - exact) <= step
    assert result.dose_mg % step == 0
    # the volume comes from the rounded dose; the rate is within half a pump step of the exact rate
    assert abs(result.volume_ml - result.dose_mg / concentration) <= Decimal("0.005")
    exact_rate = result.dose_mg / concentration * 60 / duration
    assert abs(result.rate_ml_per_h - exact_rate) <= Decimal("0.05")
    assert all(isinstance(v, Decimal) for v in (result.dose_mg, result.volume_ml, result.rate_ml_per_h))


@given(weights, st.decimals(min_value="1.01", max_value="5", places=2))
def test_any_dose_above_the_maximum_is_refused(weight, per_kg):
    with pytest.raises(CoreError) as error:
        dose(weight, per_kg)
    assert ("dose_mg_per_kg", "max_dose") in problems(error)


@given(st.decimals(min_value="150", max_value="210", places=1), st.sampled_from(["male", "female"]),
       st.decimals(min_value="40", max_value="250", places=1))
def test_adjusted_weight_lies_between_ideal_and_actual(height, sex, weight):
    result = dose(weight, 0.5, height_cm=height, sex=sex, weight_basis="adjusted")
    assert result.ideal_body_weight_kg is not None
    assert min(result.ideal_body_weight_kg, weight) <= result.dosing_weight_kg <= max(
        result.ideal_body_weight_kg, weight)
    assert result.dosing_weight_kg <= weight
