"""core.treatment_plans: the induction protocol from clinic policy, and the limits a plan must respect."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenfour.core import policy
from tenfour.core import treatment_plans as plans
from tenfour.core.errors import CoreError

DEFAULT = plans.PlanPolicy()


def check(plan_policy: plans.PlanPolicy = DEFAULT, **overrides):  # type: ignore[no-untyped-def]
    values = {"protocol": "induction", "infusions_planned": 6, "dose_mg_per_kg": "0.5", "infusion_duration_min": 40,
              "max_infusions_per_week": 3, **overrides}
    return plans.check_plan(plan_policy=plan_policy, **values)


def problems(**overrides):  # type: ignore[no-untyped-def]
    with pytest.raises(CoreError) as error:
        check(**overrides)
    return {(p.field, p.rule) for p in error.value.problems}


def test_defaults_are_the_feder_protocol_from_policy():
    values = plans.defaults(DEFAULT)
    assert (values.protocol, values.infusions_planned, values.dose_ug_per_kg, values.infusion_duration_min,
            values.max_infusions_per_week) == ("induction", 6, 500, 40, 3)
    assert values.dose_mg_per_kg == Decimal("0.5")
    assert plans.defaults(DEFAULT, plans.BOOSTER).infusions_planned == 1


def test_policy_from_resolved_values():
    resolved = policy.resolve({"course.induction_sessions": 8, "dose.max_mg_per_kg": 0.8})
    clinic = plans.PlanPolicy.from_policy(resolved)
    assert (clinic.induction_sessions, clinic.max_mg_per_kg, clinic.default_mg_per_kg) == (8, 0.8, 0.5)


def test_a_valid_plan_comes_back_in_exact_units():
    assert check(dose_mg_per_kg="0.75").dose_ug_per_kg == 750
    assert check(dose_mg_per_kg=1).dose_ug_per_kg == 1000, "the maximum itself is allowed"


@pytest.mark.parametrize(("dose", "rule"), [("1.01", "max_dose"), ("0", "plausible_range"), ("-0.5", "plausible_range"),
                                            ("abc", "number"), ("0.0005", "precision"), (None, "required"),
                                            (True, "number"), ("nan", "number")])
def test_dose_rules(dose, rule):
    assert problems(dose_mg_per_kg=dose) == {("dose_mg_per_kg", rule)}


def test_the_max_dose_message_names_the_limit_and_the_policy_key():
    with pytest.raises(CoreError) as error:
        check(dose_mg_per_kg="0.9", plan_policy=plans.PlanPolicy(max_mg_per_kg=0.8))
    assert error.value.problems[0].message == "0.9 mg/kg is above the clinic maximum of 0.8 mg/kg (dose.max_mg_per_kg)"


def test_every_problem_at_once():
    assert problems(protocol="weekly", infusions_planned=0, dose_mg_per_kg="2", infusion_duration_min=500,
                    max_infusions_per_week=9) == {
        ("protocol", "known_protocol"), ("infusions_planned", "plausible_range"), ("dose_mg_per_kg", "max_dose"),
        ("infusion_duration_min", "plausible_range"), ("max_infusions_per_week", "plausible_range")}


def test_per_week_is_capped_by_the_clinic():
    assert problems(max_infusions_per_week=4) == {("max_infusions_per_week", "max_per_week")}
    four_a_week = plans.PlanPolicy(max_sessions_per_week=4)
    assert check(four_a_week, max_infusions_per_week=4).max_infusions_per_week == 4


def test_booster_and_single_are_one_infusion():
    assert problems(protocol="booster", infusions_planned=2) == {("infusions_planned", "one_infusion")}
    assert check(protocol="single", infusions_planned=1).infusions_planned == 1


@pytest.mark.parametrize("count", [2.5, "two", "", None])
def test_counts_are_whole_numbers(count):
    assert {f for f, _ in problems(infusions_planned=count)} == {"infusions_planned"}
