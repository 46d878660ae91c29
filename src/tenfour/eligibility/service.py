"""Use cases of eligibility: evaluate with the clinic's lines, store the decision, let a prescriber override it.

The rules are core.eligibility's (versioned, with sources); nothing here re-implements them. A decision is
stored with the rules version, exactly the inputs the rules saw and the policy lines applied. An override needs
a written reason, is audited and is shown beside the decision ever after. Never commits.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour import policy
from tenfour.accounts import service as accounts
from tenfour.assessments import repository as assessments_repository
from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import eligibility as rules
from tenfour.core.errors import CoreError
from tenfour.db import utcnow
from tenfour.eligibility import repository
from tenfour.eligibility.models import EligibilityDecision
from tenfour.eligibility.schemas import EvaluateIn, PatientEvaluateIn
from tenfour.errors import Conflict, NotFound, ValidationFailed
from tenfour.intake import repository as intake_repository
from tenfour.intake.models import IntakeForm
from tenfour.patients import service as patients
from tenfour.patients.models import Patient, PatientStatus

CRISIS_RULE = "cssrs_high_crisis_first"
MIN_OVERRIDE_REASON = 10
# Before treatment starts, the decision sets where the patient stands; once treated, a new decision is shown
# on the chart but does not move the patient's status (the prescriber decides what it means for the course).
PRE_TREATMENT = frozenset({PatientStatus.REFERRED, PatientStatus.INTAKE, PatientStatus.ASSESSMENT})


def clinic_rules_policy(db: Session, clinic_id: int) -> rules.EligibilityPolicy:
    return rules.EligibilityPolicy.from_policy(effective_policy(db, clinic_id))


def _evaluate(data: rules.EligibilityInput, eligibility_policy: rules.EligibilityPolicy) -> rules.Decision:
    try:
        return rules.evaluate(data, eligibility_policy)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None


def evaluate(db: Session, ctx: Ctx, data: EvaluateIn) -> rules.Decision:
    """Evaluate screening answers with the working clinic's lines; nothing is stored (no patient involved)."""
    assert ctx.principal is not None
    clinic_id = policy.working_clinic_id(ctx.principal)
    return _evaluate(rules.EligibilityInput(
        age_years=data.age_years, systolic_bp=data.systolic_bp, diastolic_bp=data.diastolic_bp,  # type: ignore[arg-type]
        conditions=data.conditions, medications=data.medications, cssrs_risk=data.cssrs_risk),
        clinic_rules_policy(db, clinic_id))


def latest_cssrs_risk(db: Session, patient_id: int) -> str | None:
    """The risk level of the patient's latest current C-SSRS screen (None: never screened)."""
    screens = assessments_repository.for_patient(db, patient_id, ["cssrs-screen"], current_only=True)
    return screens[-1].risk_level if screens else None


def _today_at_clinic(db: Session, clinic_id: int) -> date:
    clinic = clinics_repository.by_id(db, clinic_id)
    return datetime.now(ZoneInfo(clinic.timezone if clinic else "UTC")).date()


def _store(db: Session, ctx: Ctx, patient: Patient, decision: rules.Decision, *, source: str,
           created_by_id: int | None) -> EligibilityDecision:
    row = EligibilityDecision(
        clinic_id=patient.clinic_id, patient_id=patient.id, rules_version=decision.rules_version,
        inputs=dict(decision.inputs), thresholds=dict(decision.thresholds), outcome=decision.outcome.value,
        reasons=[{"rule": r.rule, "outcome": r.outcome.value, "message": r.message, "source": r.source}
                 for r in decision.reasons],
        created_at=utcnow(), created_by_id=created_by_id,
    )
    db.add(row)
    db.flush()
    status_before = patient.status
    _keep_patient_status_in_step(patient, row)
    record(db, ctx.actor, "eligibility.decide", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="eligibility_decision", record_id=row.id,
           detail={"outcome": row.outcome, "rules_version": row.rules_version, "source": source,
                   "rules": [r["rule"] for r in row.reasons], "patient_status": [status_before, patient.status]})
    return row


def _keep_patient_status_in_step(patient: Patient, decision: EligibilityDecision) -> None:
    """Excluded before treatment -> ineligible; cleared again (override, new decision) -> assessment.
    An exclusion only for a high C-SSRS is not "ineligible": the crisis workflow comes first, then a new screen."""
    excluding = {r["rule"] for r in decision.reasons if r["outcome"] == rules.RuleOutcome.EXCLUDE}
    crisis_only = excluding == {CRISIS_RULE}
    final = decision.final_outcome
    if final == rules.DecisionOutcome.EXCLUDED and not crisis_only:
        if patient.status in PRE_TREATMENT:
            patient.status = PatientStatus.INELIGIBLE.value
    elif patient.status == PatientStatus.INELIGIBLE:
        patient.status = PatientStatus.ASSESSMENT.value


def screening_input(db: Session, patient: Patient, form: IntakeForm | None, *,
                    conditions: list[str] | None = None, medications: list[str] | None = None,
                    systolic_bp: float | None = None, diastolic_bp: float | None = None) -> rules.EligibilityInput:
    """What the rules see for a patient: the given values, else the intake screening; age from the date of birth
    (today at the clinic); the C-SSRS level from the latest screen, never from input."""
    return rules.EligibilityInput(
        age_years=patient.age_on(_today_at_clinic(db, patient.clinic_id)),
        systolic_bp=systolic_bp if systolic_bp is not None else (form.systolic_bp if form else None),  # type: ignore[arg-type]
        diastolic_bp=diastolic_bp if diastolic_bp is not None else (form.diastolic_bp if form else None),  # type: ignore[arg-type]
        conditions=conditions if conditions is not None else list(form.conditions if form else []),
        medications=medications if medications is not None else list(form.medications if form else []),
        cssrs_risk=latest_cssrs_risk(db, patient.id),
    )


def evaluate_intake(db: Session, ctx: Ctx, patient: Patient, form: IntakeForm) -> EligibilityDecision | None:
    """The automatic decision when a patient sends their intake (None when no blood pressure is known yet: the
    clinic measures it and a prescriber evaluates)."""
    if form.systolic_bp is None or form.diastolic_bp is None:
        return None
    decision = _evaluate(screening_input(db, patient, form), clinic_rules_policy(db, patient.clinic_id))
    return _store(db, ctx, patient, decision, source="intake", created_by_id=None)


def evaluate_patient(db: Session, ctx: Ctx, patient_id: int, data: PatientEvaluateIn) -> EligibilityDecision:
    """A prescriber evaluates a patient again (for example with a blood pressure measured at the clinic)."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    form = intake_repository.form_for_patient(db, patient.id)
    data_in = screening_input(db, patient, form, conditions=data.conditions, medications=data.medications,
                              systolic_bp=data.systolic_bp, diastolic_bp=data.diastolic_bp)
    decision = _evaluate(data_in, clinic_rules_policy(db, patient.clinic_id))
    return _store(db, ctx, patient, decision, source="prescriber", created_by_id=ctx.actor.user_id)


def decisions(db: Session, ctx: Ctx, patient_id: int) -> tuple[Patient, list[EligibilityDecision]]:
    """A patient's decisions, newest first (the read is audited)."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action="eligibility.view")
    return patient, repository.for_patient(db, patient.id)


def latest(db: Session, patient_id: int) -> EligibilityDecision | None:
    return repository.latest_for_patient(db, patient_id)


def override(db: Session, ctx: Ctx, patient_id: int, decision_id: int, outcome: str,
             reason: str) -> EligibilityDecision:
    """A prescriber overrides a ``review`` (to eligible or excluded) or an ``excluded`` (to eligible), once,
    with a written reason. A high C-SSRS cannot be overridden: crisis workflow, a new screen, a new decision."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    decision = repository.by_id(db, decision_id)
    if decision is None or decision.patient_id != patient.id:
        raise NotFound("No such eligibility decision.")
    newest = repository.latest_for_patient(db, patient.id)
    if newest is not None and newest.id != decision.id:
        raise Conflict("A newer decision exists for this patient; override that one instead.")
    if decision.override_outcome is not None:
        raise Conflict("This decision was already overridden; evaluate again for a new decision.")
    accounts.require_recent_sign_in(db, ctx)  # an override needs a recent sign-in
    allowed = {"review": {"eligible", "excluded"}, "excluded": {"eligible"}}.get(decision.outcome, set())
    if not allowed:
        raise ValidationFailed.single("outcome", "overridable",
                                      "only a review or an exclusion can be overridden; this decision is eligible")
    if outcome not in allowed:
        choices = ", ".join(sorted(allowed))
        raise ValidationFailed.single("outcome", "overridable",
                                      f"a {decision.outcome} decision can be overridden to: {choices}")
    if any(r["rule"] == CRISIS_RULE for r in decision.reasons) and outcome == "eligible":
        raise ValidationFailed.single(
            "outcome", "crisis_first",
            "a high C-SSRS risk cannot be overridden: follow the crisis workflow, repeat the C-SSRS screen, "
            "then evaluate again")
    reason = (reason or "").strip()
    if len(reason) < MIN_OVERRIDE_REASON:
        raise ValidationFailed.single("reason", "required",
                                      f"write the clinical reason for the override (at least {MIN_OVERRIDE_REASON} "
                                      "characters); it is shown with the decision from now on")
    decision.override_outcome = outcome
    decision.override_reason = reason[:2000]
    decision.overridden_by_id = ctx.actor.user_id
    decision.overridden_at = utcnow()
    status_before = patient.status
    _keep_patient_status_in_step(patient, decision)
    db.flush()
    record(db, ctx.actor, "eligibility.override", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="eligibility_decision", record_id=decision.id,
           detail={"from": decision.outcome, "to": outcome, "reason": reason[:500],
                   "patient_status": [status_before, patient.status]})
    return decision
