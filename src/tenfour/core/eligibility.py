"""Eligibility for ketamine infusions: versioned, data-driven contraindication rules -> decision.

Each rule has an outcome (``exclude``, ``review`` for a prescriber, ``note``), a message a patient and a
prescriber can both read, and a source: the ketamine (Ketalar) and esketamine (Spravato) prescribing
information and the APA consensus statement (Sanacora et al. 2017, JAMA Psychiatry 74:399-405).
Blood-pressure and age lines are clinic policy (``eligibility.*`` in ``policy.py``). Changing a rule,
its outcome or its message means a new ``RULES_VERSION``; decisions are stored with the version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem
from tenfour.core.policy import Basis

RULES_VERSION = "2026.1"

KETALAR = "Ketalar (ketamine hydrochloride injection) prescribing information"
SPRAVATO = "Spravato (esketamine) nasal spray prescribing information"
SANACORA = "Sanacora et al. 2017, JAMA Psychiatry 74:399-405 (APA consensus on ketamine in mood disorders)"
CSSRS = "Columbia Suicide Severity Rating Scale (C-SSRS) screener risk triage"


class RuleOutcome(StrEnum):
    EXCLUDE = "exclude"
    REVIEW = "review"
    NOTE = "note"


class DecisionOutcome(StrEnum):
    ELIGIBLE = "eligible"
    REVIEW = "review"
    EXCLUDED = "excluded"


class CssrsRisk(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


CONDITIONS: frozenset[str] = frozenset({
    "ketamine_hypersensitivity", "aneurysmal_vascular_disease", "arteriovenous_malformation",
    "intracerebral_hemorrhage_history", "psychosis_history", "active_ketamine_or_pcp_misuse", "pregnant",
    "breastfeeding", "substance_use_disorder_other", "unstable_cardiac_disease",
    "raised_intracranial_pressure", "raised_intraocular_pressure", "hepatic_impairment",
})
MEDICATIONS: frozenset[str] = frozenset({"benzodiazepine", "lamotrigine"})

# Input-plausibility limits (not clinical thresholds): values outside are typing errors.
# A self-referring adult service never sees a 3-year-old; under 10 or over 110 years is impossible input.
AGE_RANGE_YEARS = (10, 110)
SBP_RANGE_MMHG = (60, 300)
DBP_RANGE_MMHG = (30, 200)

NOT_SCREENED = "not_screened"  # how a missing C-SSRS screen is matched by the rules

_SEVERITY = {RuleOutcome.EXCLUDE: 2, RuleOutcome.REVIEW: 1, RuleOutcome.NOTE: 0}
_COMPARE = {"<": lambda v, t: v < t, ">": lambda v, t: v > t, ">=": lambda v, t: v >= t}


@dataclass(frozen=True)
class Rule:
    """One eligibility rule. It fires on exactly one trigger: a reported ``condition``, a ``medication``,
    a ``cssrs_risk`` level, or a ``measure`` compared (``comparison``) with the policy value
    ``threshold_key`` (and, for a band, below ``below_key``). ``message`` may use {value} and {threshold}.
    """

    id: str
    outcome: RuleOutcome
    message: str
    source: str
    basis: Basis
    condition: str | None = None
    medication: str | None = None
    cssrs_risk: str | None = None
    measure: str | None = None
    comparison: str | None = None
    threshold_key: str | None = None
    below_key: str | None = None


def _condition(term: str, outcome: RuleOutcome, message: str, source: str,
               basis: Basis = Basis.LABEL) -> Rule:
    return Rule(term, outcome, message, source, basis, condition=term)


_E, _R, _N = RuleOutcome.EXCLUDE, RuleOutcome.REVIEW, RuleOutcome.NOTE

RULES: tuple[Rule, ...] = (
    # --- exclude --------------------------------------------------------------------------------------
    _condition("ketamine_hypersensitivity", _E,
               "You reported an allergy or serious reaction to ketamine or esketamine. Ketamine must not be "
               "given to anyone hypersensitive to it.",
               f"{KETALAR}: Contraindications; {SPRAVATO}: Contraindications"),
    _condition("aneurysmal_vascular_disease", _E,
               "You reported an aneurysm or other aneurysmal blood-vessel disease (brain, chest, abdomen or "
               "limbs). Ketamine raises blood pressure for a while, which could make an aneurysm bleed.",
               f"{SPRAVATO}: Contraindications (aneurysmal vascular disease)"),
    _condition("arteriovenous_malformation", _E,
               "You reported an arteriovenous malformation (an abnormal tangle of blood vessels). Ketamine "
               "raises blood pressure for a while, which could make it bleed.",
               f"{SPRAVATO}: Contraindications (arteriovenous malformation)"),
    _condition("intracerebral_hemorrhage_history", _E,
               "You reported a past bleed inside the brain. Ketamine raises blood pressure for a while, "
               "which could cause another bleed.",
               f"{SPRAVATO}: Contraindications (history of intracerebral hemorrhage)"),
    _condition("psychosis_history", _E,
               "You reported a history of psychosis. Ketamine changes perception and can bring psychotic "
               "symptoms back, so it is not offered here.",
               f"{SANACORA}: history of psychosis", Basis.EVIDENCE),
    _condition("active_ketamine_or_pcp_misuse", _E,
               "You reported current misuse of ketamine or PCP. Giving ketamine could make this worse; "
               "the team can help you find other treatment.",
               f"{SANACORA}: substance use history; {KETALAR}: Drug Abuse and Dependence", Basis.EVIDENCE),
    _condition("pregnant", _E,
               "You reported being pregnant. Ketamine treatment is not given during pregnancy because it "
               "may harm the unborn baby.",
               f"{SPRAVATO}: Embryo-fetal toxicity, Use in Pregnancy (not recommended); {SANACORA}"),
    Rule("uncontrolled_hypertension_systolic", _E,
         "Your systolic blood pressure at screening ({value} mmHg) is at or above the clinic's limit of "
         "{threshold} mmHg. Ketamine raises blood pressure, so it must be brought under control first.",
         f"{KETALAR}: Contraindications (patients in whom a significant rise in blood pressure would be a "
         f"serious hazard); {SANACORA}: uncontrolled hypertension. The line is the clinic's policy.",
         Basis.PRODUCT, measure="systolic_bp", comparison=">=", threshold_key="eligibility.exclude_sbp"),
    Rule("uncontrolled_hypertension_diastolic", _E,
         "Your diastolic blood pressure at screening ({value} mmHg) is at or above the clinic's limit of "
         "{threshold} mmHg. Ketamine raises blood pressure, so it must be brought under control first.",
         f"{KETALAR}: Contraindications (patients in whom a significant rise in blood pressure would be a "
         f"serious hazard); {SANACORA}: uncontrolled hypertension. The line is the clinic's policy.",
         Basis.PRODUCT, measure="diastolic_bp", comparison=">=", threshold_key="eligibility.exclude_dbp"),
    Rule("under_minimum_age", _E,
         "You are {value}; this service treats adults aged {threshold} and over.",
         "Clinic policy (product choice): ketamine for PTSD and depression is studied in adults "
         f"({SANACORA})",
         Basis.PRODUCT, measure="age_years", comparison="<", threshold_key="eligibility.min_age_years"),
    Rule("cssrs_high_crisis_first", _E,
         "Your answers about suicidal thoughts show a high risk right now. Your safety comes first: the "
         "team will contact you today through the urgent crisis pathway, not for an infusion. If you are in "
         "danger now, call or text 988 (Suicide & Crisis Lifeline) or 911.",
         f"{CSSRS}: high risk (intent, plan or recent behaviour) means the crisis workflow now; "
         "TenFour design (crisis workflow before any infusion)", Basis.PRODUCT, cssrs_risk=CssrsRisk.HIGH),
    # --- prescriber review ----------------------------------------------------------------------------
    _condition("substance_use_disorder_other", _R,
               "You reported a substance use problem (other than ketamine or PCP). A prescriber will review "
               "it with you, because ketamine can be misused.",
               f"{SANACORA}: substance use history; {SPRAVATO}: Abuse and Misuse", Basis.EVIDENCE),
    _condition("unstable_cardiac_disease", _R,
               "You reported a heart condition that is not stable. Ketamine raises heart rate and blood "
               "pressure, so a prescriber will review whether it is safe for you.",
               f"{KETALAR}: Hemodynamic instability; {SPRAVATO}: Increases in Blood Pressure; "
               f"{SANACORA}: cardiovascular assessment"),
    _condition("raised_intracranial_pressure", _R,
               "You reported raised pressure inside the head. Ketamine can raise it further, so a "
               "prescriber will review this.",
               f"{KETALAR}: Warnings and Precautions (increase in cerebrospinal fluid pressure); {SANACORA}"),
    _condition("raised_intraocular_pressure", _R,
               "You reported raised pressure in the eye (for example glaucoma). Ketamine can raise eye "
               "pressure, so a prescriber will review this.",
               f"{KETALAR}: Adverse Reactions (elevation in intraocular pressure); {SANACORA}"),
    _condition("hepatic_impairment", _R,
               "You reported a liver problem. The liver breaks down ketamine, so a prescriber will review "
               "whether and how to treat you.",
               f"{KETALAR}: Drug-induced liver injury; {SPRAVATO}: Use in Specific Populations (hepatic "
               "impairment)"),
    _condition("breastfeeding", _R,
               "You reported breastfeeding. Ketamine passes into breast milk, so a prescriber will talk "
               "with you about it before treatment.",
               f"{SPRAVATO}: Use in Specific Populations, Lactation (breastfeeding not recommended)"),
    Rule("benzodiazepine", _R,
         "You take a benzodiazepine (for example lorazepam, clonazepam or diazepam). It may weaken the "
         "effect of ketamine; a prescriber will review the timing or dose with you. Do not stop it on "
         "your own.",
         f"{SANACORA}: concomitant medications (benzodiazepines may attenuate response)", Basis.EVIDENCE,
         medication="benzodiazepine"),
    Rule("lamotrigine", _R,
         "You take lamotrigine. It may weaken the effect of ketamine; a prescriber will review it with you. "
         "Do not stop it on your own.",
         f"{SANACORA}: concomitant medications (lamotrigine may attenuate response)", Basis.EVIDENCE,
         medication="lamotrigine"),
    Rule("elevated_bp_systolic", _R,
         "Your systolic blood pressure at screening ({value} mmHg) is above {threshold} mmHg. Ketamine "
         "raises blood pressure, so a prescriber will review it before treatment.",
         f"{SPRAVATO}: Increases in Blood Pressure (assess before dosing; caution above 140/90)",
         Basis.LABEL, measure="systolic_bp", comparison=">", threshold_key="eligibility.review_sbp",
         below_key="eligibility.exclude_sbp"),
    Rule("elevated_bp_diastolic", _R,
         "Your diastolic blood pressure at screening ({value} mmHg) is above {threshold} mmHg. Ketamine "
         "raises blood pressure, so a prescriber will review it before treatment.",
         f"{SPRAVATO}: Increases in Blood Pressure (assess before dosing; caution above 140/90)",
         Basis.LABEL, measure="diastolic_bp", comparison=">", threshold_key="eligibility.review_dbp",
         below_key="eligibility.exclude_dbp"),
    Rule("cssrs_moderate", _R,
         "Your answers about suicidal thoughts show a moderate risk. A prescriber will talk with you about "
         "safety and support before treatment starts.",
         f"{CSSRS}: moderate risk (method, or behaviour more than 3 months ago)", Basis.PRODUCT,
         cssrs_risk=CssrsRisk.MODERATE),
    Rule("cssrs_not_screened", _R,
         "There is no suicide-risk screen (C-SSRS) on file yet. A prescriber will make sure it is done "
         "before treatment.",
         "TenFour design (product choice): risk must be screened before an infusion", Basis.PRODUCT,
         cssrs_risk=NOT_SCREENED),
    # --- notes ----------------------------------------------------------------------------------------
    Rule("cssrs_low", _N,
         "Your answers about suicidal thoughts show a low risk. This is noted for your prescriber, and the "
         "team will keep asking at check-ins.",
         f"{CSSRS}: low risk (wish to be dead or passive thoughts); noted (product choice)", Basis.PRODUCT,
         cssrs_risk=CssrsRisk.LOW),
)


@dataclass(frozen=True)
class EligibilityPolicy:
    """The clinic's eligibility lines (defaults and sources in ``policy.py``)."""

    min_age_years: int = policy.default("eligibility.min_age_years")
    review_sbp: float = policy.default("eligibility.review_sbp")
    review_dbp: float = policy.default("eligibility.review_dbp")
    exclude_sbp: float = policy.default("eligibility.exclude_sbp")
    exclude_dbp: float = policy.default("eligibility.exclude_dbp")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> EligibilityPolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{attr: values.get(key, policy.default(key)) for attr, key in _POLICY_KEYS.items()})

    def threshold(self, key: str) -> float:
        return getattr(self, _ATTR_BY_KEY[key])


_POLICY_KEYS = {
    "min_age_years": "eligibility.min_age_years",
    "review_sbp": "eligibility.review_sbp",
    "review_dbp": "eligibility.review_dbp",
    "exclude_sbp": "eligibility.exclude_sbp",
    "exclude_dbp": "eligibility.exclude_dbp",
}
_ATTR_BY_KEY = {key: attr for attr, key in _POLICY_KEYS.items()}


@dataclass(frozen=True)
class EligibilityInput:
    """Medical screening from intake. BP in mmHg (the most recent), age in whole years; ``cssrs_risk`` is
    the latest C-SSRS screener level (``none``/``low``/``moderate``/``high``) or None when not screened."""

    age_years: int
    systolic_bp: float
    diastolic_bp: float
    conditions: tuple[str, ...] | list[str] | frozenset[str] = ()
    medications: tuple[str, ...] | list[str] | frozenset[str] = ()
    cssrs_risk: str | None = None


@dataclass(frozen=True)
class Reason:
    rule: str
    outcome: RuleOutcome
    message: str
    source: str


@dataclass(frozen=True)
class Decision:
    """The outcome (most severe rule wins), every rule that fired (most severe first), the rules version,
    the normalised inputs and the policy lines used — everything needed to store and audit it."""

    outcome: DecisionOutcome
    reasons: list[Reason]
    rules_version: str
    inputs: dict[str, Any]
    thresholds: dict[str, float] = field(default_factory=dict)


def _terms(raw: Any, name: str, vocabulary: frozenset[str], problems: list[FieldProblem]) -> list[str]:
    if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
        problems.append(FieldProblem(name, "list_of_terms", "must be a list of terms"))
        return []
    terms: set[str] = set()
    for term in raw:
        if isinstance(term, str) and term in vocabulary:
            terms.add(term)
        else:
            problems.append(FieldProblem(name, "known_term", f"{term!r} is not a known term; known: "
                                                             + ", ".join(sorted(vocabulary))))
    return sorted(terms)


def _measure(raw: Any, name: str, bounds: tuple[int, int], unit: str, whole: bool,
             problems: list[FieldProblem]) -> float | None:
    if raw is None:
        problems.append(FieldProblem(name, "required", "is required"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        problems.append(FieldProblem(name, "number", f"must be a number, got {raw!r}"))
        return None
    if whole and raw != int(raw):
        problems.append(FieldProblem(name, "number", "must be a whole number"))
        return None
    low, high = bounds
    if not low <= raw <= high:
        problems.append(FieldProblem(name, "plausible_range",
                                     f"{raw:g} {unit} is not a plausible value "
                                     f"(accepted {low}-{high} {unit})"))
        return None
    return int(raw) if whole else raw


def check_input(data: EligibilityInput) -> dict[str, Any]:
    """Validate the screening (CoreError listing every unknown term and impossible value) and return it
    normalised: sorted, de-duplicated terms and ``cssrs_risk`` as a string or None."""
    problems: list[FieldProblem] = []
    inputs: dict[str, Any] = {
        "conditions": _terms(data.conditions, "conditions", CONDITIONS, problems),
        "medications": _terms(data.medications, "medications", MEDICATIONS, problems),
        "age_years": _measure(data.age_years, "age_years", AGE_RANGE_YEARS, "years", True, problems),
        "systolic_bp": _measure(data.systolic_bp, "systolic_bp", SBP_RANGE_MMHG, "mmHg", False, problems),
        "diastolic_bp": _measure(data.diastolic_bp, "diastolic_bp", DBP_RANGE_MMHG, "mmHg", False, problems),
        "cssrs_risk": None,
    }
    sbp, dbp = inputs["systolic_bp"], inputs["diastolic_bp"]
    if sbp is not None and dbp is not None and dbp >= sbp:
        problems.append(FieldProblem("diastolic_bp", "diastolic_below_systolic",
                                     f"diastolic {dbp:g} mmHg must be below systolic {sbp:g} mmHg"))
    if data.cssrs_risk is not None:
        try:
            inputs["cssrs_risk"] = CssrsRisk(data.cssrs_risk).value
        except ValueError:
            problems.append(FieldProblem("cssrs_risk", "known_term",
                                         f"{data.cssrs_risk!r} is not one of: none, low, moderate, high"))
    if problems:
        raise CoreError(problems)
    return inputs


def _fires(rule: Rule, inputs: Mapping[str, Any], eligibility_policy: EligibilityPolicy) -> bool:
    if rule.condition is not None:
        return rule.condition in inputs["conditions"]
    if rule.medication is not None:
        return rule.medication in inputs["medications"]
    if rule.cssrs_risk is not None:
        return (inputs["cssrs_risk"] or NOT_SCREENED) == rule.cssrs_risk
    assert rule.measure is not None and rule.comparison is not None and rule.threshold_key is not None
    value = inputs[rule.measure]
    if not _COMPARE[rule.comparison](value, eligibility_policy.threshold(rule.threshold_key)):
        return False
    # A band: the review line fires only below the exclude line, so one measurement gives one reason.
    return rule.below_key is None or value < eligibility_policy.threshold(rule.below_key)


def _message(rule: Rule, inputs: Mapping[str, Any], eligibility_policy: EligibilityPolicy) -> str:
    if rule.measure is None or rule.threshold_key is None:
        return rule.message
    return rule.message.format(value=f"{inputs[rule.measure]:g}",
                               threshold=f"{eligibility_policy.threshold(rule.threshold_key):g}")


def evaluate(data: EligibilityInput, eligibility_policy: EligibilityPolicy,
             rules: tuple[Rule, ...] = RULES) -> Decision:
    """Decide eligibility: ``excluded`` if any ``exclude`` rule fires, else ``review`` if any ``review``
    rule fires, else ``eligible`` (``note`` rules never change the outcome). Every rule that fires is
    listed, most severe first. Unknown terms and impossible values raise CoreError naming each field
    and rule. Sources per rule (``Rule.source``): Ketalar and Spravato labels, Sanacora 2017, C-SSRS.
    """
    inputs = check_input(data)
    fired = [rule for rule in rules if _fires(rule, inputs, eligibility_policy)]
    fired.sort(key=lambda rule: -_SEVERITY[rule.outcome])  # stable: rule order within a severity
    reasons = [Reason(rule.id, rule.outcome, _message(rule, inputs, eligibility_policy), rule.source)
               for rule in fired]
    outcomes = {rule.outcome for rule in fired}
    if RuleOutcome.EXCLUDE in outcomes:
        outcome = DecisionOutcome.EXCLUDED
    elif RuleOutcome.REVIEW in outcomes:
        outcome = DecisionOutcome.REVIEW
    else:
        outcome = DecisionOutcome.ELIGIBLE
    thresholds = {key: eligibility_policy.threshold(key) for key in _ATTR_BY_KEY}
    return Decision(outcome, reasons, RULES_VERSION, inputs, thresholds)
