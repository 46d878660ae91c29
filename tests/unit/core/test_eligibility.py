"""Eligibility rules one by one, in combination, at every BP and age boundary, and bad input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import policy
from tenfour.core.eligibility import (
    CONDITIONS,
    MEDICATIONS,
    RULES,
    RULES_VERSION,
    DecisionOutcome,
    EligibilityInput,
    EligibilityPolicy,
    RuleOutcome,
    evaluate,
)
from tenfour.core.errors import CoreError

DEFAULT = EligibilityPolicy()


def decide(conditions=(), medications=(), age=40, sbp=120, dbp=80, cssrs="none", eligibility_policy=DEFAULT):
    return evaluate(EligibilityInput(age, sbp, dbp, conditions, medications, cssrs), eligibility_policy)


def fired(decision) -> list[str]:
    return [r.rule for r in decision.reasons]


def problems(error: pytest.ExceptionInfo[CoreError]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in error.value.problems}


# --- the rule set -----------------------------------------------------------------------------------


def test_rules_are_well_formed():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert RULES_VERSION == "2026.1"
    for rule in RULES:
        assert rule.message and rule.source
        triggers = [rule.condition, rule.medication, rule.cssrs_risk, rule.measure]
        assert sum(t is not None for t in triggers) == 1, rule.id
        if rule.threshold_key is not None:
            assert rule.threshold_key in policy.BY_KEY
    # every vocabulary term has exactly one rule
    assert {rule.condition for rule in RULES if rule.condition} == CONDITIONS
    assert {rule.medication for rule in RULES if rule.medication} == MEDICATIONS


def test_policy_defaults_and_overrides():
    assert (DEFAULT.min_age_years, DEFAULT.review_sbp, DEFAULT.review_dbp, DEFAULT.exclude_sbp,
            DEFAULT.exclude_dbp) == (18, 140, 90, 180, 110)
    assert EligibilityPolicy.from_policy(policy.resolve({})) == DEFAULT
    strict = EligibilityPolicy.from_policy(policy.resolve({"eligibility.exclude_sbp": 160}))
    assert decide(sbp=165, eligibility_policy=strict).outcome is DecisionOutcome.EXCLUDED
    assert decide(sbp=165).outcome is DecisionOutcome.REVIEW


def test_no_findings_is_eligible():
    decision = decide()
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    assert decision.reasons == []
    assert decision.rules_version == RULES_VERSION
    assert decision.inputs == {"conditions": [], "medications": [], "age_years": 40, "systolic_bp": 120,
                               "diastolic_bp": 80, "cssrs_risk": "none"}
    assert decision.thresholds["eligibility.exclude_sbp"] == 180


# --- each rule alone -------------------------------------------------------------------------------

EXCLUDING = ["ketamine_hypersensitivity", "aneurysmal_vascular_disease", "arteriovenous_malformation",
             "intracerebral_hemorrhage_history", "psychosis_history", "active_ketamine_or_pcp_misuse",
             "pregnant"]
REVIEWED = ["substance_use_disorder_other", "unstable_cardiac_disease", "raised_intracranial_pressure",
            "raised_intraocular_pressure", "hepatic_impairment", "breastfeeding"]


@pytest.mark.parametrize("condition", EXCLUDING)
def test_excluding_condition_alone(condition):
    decision = decide([condition])
    assert decision.outcome is DecisionOutcome.EXCLUDED
    assert len(decision.reasons) == 1
    reason = decision.reasons[0]
    assert (reason.rule, reason.outcome) == (condition, RuleOutcome.EXCLUDE)
    assert reason.message and reason.source


@pytest.mark.parametrize("condition", REVIEWED)
def test_review_condition_alone(condition):
    decision = decide([condition])
    assert decision.outcome is DecisionOutcome.REVIEW
    assert [(r.rule, r.outcome) for r in decision.reasons] == [(condition, RuleOutcome.REVIEW)]


@pytest.mark.parametrize("medication", ["benzodiazepine", "lamotrigine"])
def test_medication_alone_needs_review(medication):
    decision = decide(medications=[medication])
    assert decision.outcome is DecisionOutcome.REVIEW
    assert fired(decision) == [medication]
    assert "weaken" in decision.reasons[0].message


def test_sources_cite_labels_and_consensus():
    by_id = {rule.id: rule for rule in RULES}
    assert "Spravato" in by_id["aneurysmal_vascular_disease"].source
    assert "Ketalar" in by_id["ketamine_hypersensitivity"].source
    assert "Sanacora" in by_id["psychosis_history"].source
    assert "Sanacora" in by_id["benzodiazepine"].source


# --- blood pressure boundaries ------------------------------------------------------------------------


@pytest.mark.parametrize(("sbp", "outcome", "rules"), [
    (140, DecisionOutcome.ELIGIBLE, []),
    (141, DecisionOutcome.REVIEW, ["elevated_bp_systolic"]),
    (179, DecisionOutcome.REVIEW, ["elevated_bp_systolic"]),
    (180, DecisionOutcome.EXCLUDED, ["uncontrolled_hypertension_systolic"]),
])
def test_systolic_boundaries(sbp, outcome, rules):
    decision = decide(sbp=sbp, dbp=80)
    assert decision.outcome is outcome
    assert fired(decision) == rules


@pytest.mark.parametrize(("dbp", "outcome", "rules"), [
    (90, DecisionOutcome.ELIGIBLE, []),
    (91, DecisionOutcome.REVIEW, ["elevated_bp_diastolic"]),
    (109, DecisionOutcome.REVIEW, ["elevated_bp_diastolic"]),
    (110, DecisionOutcome.EXCLUDED, ["uncontrolled_hypertension_diastolic"]),
])
def test_diastolic_boundaries(dbp, outcome, rules):
    decision = decide(sbp=130, dbp=dbp)
    assert decision.outcome is outcome
    assert fired(decision) == rules


def test_bp_message_names_value_and_line():
    reason = decide(sbp=182, dbp=95).reasons[0]
    assert reason.rule == "uncontrolled_hypertension_systolic"
    assert "182 mmHg" in reason.message and "180 mmHg" in reason.message
    assert [r.rule for r in decide(sbp=182, dbp=95).reasons] == ["uncontrolled_hypertension_systolic",
                                                                 "elevated_bp_diastolic"]


def test_either_bp_number_alone_excludes():
    assert decide(sbp=185, dbp=85).outcome is DecisionOutcome.EXCLUDED
    assert decide(sbp=150, dbp=112).outcome is DecisionOutcome.EXCLUDED
    both = decide(sbp=190, dbp=115)
    assert fired(both) == ["uncontrolled_hypertension_systolic", "uncontrolled_hypertension_diastolic"]


# --- age and C-SSRS ----------------------------------------------------------------------------------


def test_age_boundary():
    young = decide(age=17)
    assert young.outcome is DecisionOutcome.EXCLUDED
    assert fired(young) == ["under_minimum_age"]
    assert "17" in young.reasons[0].message and "18" in young.reasons[0].message
    assert decide(age=18).outcome is DecisionOutcome.ELIGIBLE


@pytest.mark.parametrize(("risk", "outcome", "rules"), [
    ("none", DecisionOutcome.ELIGIBLE, []),
    ("low", DecisionOutcome.ELIGIBLE, ["cssrs_low"]),
    ("moderate", DecisionOutcome.REVIEW, ["cssrs_moderate"]),
    ("high", DecisionOutcome.EXCLUDED, ["cssrs_high_crisis_first"]),
    (None, DecisionOutcome.REVIEW, ["cssrs_not_screened"]),
])
def test_cssrs_levels(risk, outcome, rules):
    decision = decide(cssrs=risk)
    assert decision.outcome is outcome
    assert fired(decision) == rules


def test_cssrs_high_puts_the_crisis_workflow_first():
    reason = decide(cssrs="high").reasons[0]
    assert reason.outcome is RuleOutcome.EXCLUDE
    assert "crisis" in reason.message and "not for an infusion" in reason.message
    assert "988" in reason.message


def test_note_never_changes_the_outcome():
    assert decide(cssrs="low").outcome is DecisionOutcome.ELIGIBLE
    assert decide(["breastfeeding"], cssrs="low").outcome is DecisionOutcome.REVIEW


# --- combinations ----------------------------------------------------------------------------------


def test_most_severe_wins_and_every_reason_is_listed_most_severe_first():
    decision = decide(["breastfeeding", "pregnant", "hepatic_impairment"], ["lamotrigine"], age=17, sbp=150,
                      dbp=95, cssrs="low")
    assert decision.outcome is DecisionOutcome.EXCLUDED
    assert fired(decision) == ["pregnant", "under_minimum_age", "hepatic_impairment", "breastfeeding",
                               "lamotrigine", "elevated_bp_systolic", "elevated_bp_diastolic", "cssrs_low"]
    assert [r.outcome for r in decision.reasons] == [RuleOutcome.EXCLUDE] * 2 + [RuleOutcome.REVIEW] * 5 + [
        RuleOutcome.NOTE]


def test_several_reviews_stay_review():
    decision = decide(["unstable_cardiac_disease"], ["benzodiazepine"], cssrs="moderate")
    assert decision.outcome is DecisionOutcome.REVIEW
    assert fired(decision) == ["unstable_cardiac_disease", "benzodiazepine", "cssrs_moderate"]


def test_duplicate_terms_count_once_and_inputs_are_normalised():
    decision = decide(("pregnant", "breastfeeding", "pregnant"))
    assert fired(decision) == ["pregnant", "breastfeeding"]
    assert decision.inputs["conditions"] == ["breastfeeding", "pregnant"]


@given(st.sets(st.sampled_from(sorted(CONDITIONS))), st.sets(st.sampled_from(sorted(MEDICATIONS))),
       st.integers(10, 110), st.integers(61, 300), st.integers(30, 200),
       st.sampled_from([None, "none", "low", "moderate", "high"]))
def test_outcome_is_the_most_severe_fired_rule(conditions, medications, age, sbp, dbp, cssrs):
    if dbp >= sbp:
        return
    decision = decide(sorted(conditions), sorted(medications), age, sbp, dbp, cssrs)
    outcomes = {r.outcome for r in decision.reasons}
    expected = (DecisionOutcome.EXCLUDED if RuleOutcome.EXCLUDE in outcomes
                else DecisionOutcome.REVIEW if RuleOutcome.REVIEW in outcomes else DecisionOutcome.ELIGIBLE)
    assert decision.outcome is expected
    for condition in conditions:
        assert condition in fired(decision)
    if sbp >= 180 or dbp >= 110 or age < 18 or cssrs == "high" or conditions & set(EXCLUDING):
        assert decision.outcome is DecisionOutcome.EXCLUDED


# --- bad input -------------------------------------------------------------------------------------


def test_unknown_terms_name_each_field_and_term():
    with pytest.raises(CoreError) as error:
        decide(["pregnant", "broken_leg"], ["aspirin"])
    assert problems(error) == {("conditions", "known_term"), ("medications", "known_term")}
    assert "broken_leg" in str(error.value) and "aspirin" in str(error.value)


def test_a_bare_string_is_not_a_list_of_terms():
    with pytest.raises(CoreError) as error:
        decide("pregnant")
    assert problems(error) == {("conditions", "list_of_terms")}


def test_unknown_cssrs_level():
    with pytest.raises(CoreError) as error:
        decide(cssrs="severe")
    assert problems(error) == {("cssrs_risk", "known_term")}


@pytest.mark.parametrize(("kw", "field", "rule"), [
    ({"age": 3}, "age_years", "plausible_range"),
    ({"age": 9}, "age_years", "plausible_range"),
    ({"age": 111}, "age_years", "plausible_range"),
    ({"age": 40.5}, "age_years", "number"),
    ({"age": None}, "age_years", "required"),
    ({"sbp": 400}, "systolic_bp", "plausible_range"),
    ({"sbp": 59, "dbp": 40}, "systolic_bp", "plausible_range"),
    ({"dbp": 20}, "diastolic_bp", "plausible_range"),
    ({"sbp": 250, "dbp": 201}, "diastolic_bp", "plausible_range"),
    ({"sbp": 120, "dbp": 120}, "diastolic_bp", "diastolic_below_systolic"),
    ({"sbp": True}, "systolic_bp", "number"),
    ({"dbp": "80"}, "diastolic_bp", "number"),
])
def test_impossible_values(kw, field, rule):
    with pytest.raises(CoreError) as error:
        decide(**kw)
    assert problems(error) == {(field, rule)}


@pytest.mark.parametrize(("age", "sbp", "dbp", "rules"), [
    (10, 60, 30, ["under_minimum_age"]),
    (110, 300, 200, ["uncontrolled_hypertension_systolic", "uncontrolled_hypertension_diastolic"])])
def test_plausibility_limits_are_inclusive(age, sbp, dbp, rules):
    assert fired(decide(age=age, sbp=sbp, dbp=dbp)) == rules


def test_bp_400_over_20_reports_both_fields_at_once():
    with pytest.raises(CoreError) as error:
        decide(["x"], age=3, sbp=400, dbp=20)
    assert problems(error) == {("conditions", "known_term"), ("age_years", "plausible_range"),
                               ("systolic_bp", "plausible_range"), ("diastolic_bp", "plausible_range")}
