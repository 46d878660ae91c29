"""Use cases of treatment plans: draft with the clinic's induction protocol, sign, supersede. Never commits.

A signed plan is never edited (the database refuses it too): a change is a new version that supersedes it,
signed in its turn. Only a prescriber drafts and signs (PLAN_SIGN), and only for a patient whose latest
eligibility decision is eligible (by the rules, or by a prescriber's override with its reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tenfour.accounts import service as accounts
from tenfour.audit.service import record
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import treatment_plans as core
from tenfour.core.errors import CoreError
from tenfour.db import utcnow
from tenfour.eligibility import repository as eligibility_repository
from tenfour.errors import Conflict, NotFound, ValidationFailed
from tenfour.patients import service as patients
from tenfour.patients.models import Patient, PatientStatus, Sex
from tenfour.plans import repository
from tenfour.plans.models import TreatmentPlan
from tenfour.plans.schemas import PlanIn, PlanUpdate

# Signing a plan starts treatment for a patient who had not started it yet; maintenance stays maintenance.
STARTS_TREATMENT = frozenset({PatientStatus.REFERRED, PatientStatus.INTAKE, PatientStatus.ASSESSMENT,
                              PatientStatus.INELIGIBLE})


def plan_policy(db: Session, clinic_id: int) -> core.PlanPolicy:
    return core.PlanPolicy.from_policy(effective_policy(db, clinic_id))


@dataclass(frozen=True)
class PlanBook:
    """A patient's plans: every version (oldest first), the signed plan in force, and the open draft."""

    patient: Patient
    plans: list[TreatmentPlan]
    current: TreatmentPlan | None
    draft: TreatmentPlan | None


def plans_for(db: Session, ctx: Ctx, patient_id: int, *, audit: bool = True) -> PlanBook:
    patient = patients.get_patient(db, ctx, patient_id, audit_action="plan.view" if audit else None)
    return PlanBook(patient, repository.for_patient(db, patient.id), repository.current_signed_plan(db, patient.id),
                    repository.draft_for_patient(db, patient.id))


def _plan(db: Session, patient: Patient, plan_id: int) -> TreatmentPlan:
    plan = repository.by_id(db, plan_id)
    if plan is None or plan.patient_id != patient.id:
        raise NotFound("No such treatment plan.")
    return plan


def defaults_for(db: Session, patient: Patient, protocol: str = core.INDUCTION) -> dict[str, Any]:
    """The form's starting values: the clinic's protocol, and a pregnancy check unless the patient is male."""
    values = core.defaults(plan_policy(db, patient.clinic_id), protocol)
    return {"protocol": values.protocol, "infusions_planned": values.infusions_planned,
            "dose_mg_per_kg": values.dose_mg_per_kg.normalize(), "infusion_duration_min": values.infusion_duration_min,
            "max_infusions_per_week": values.max_infusions_per_week,
            "pregnancy_check_required": patient.sex != Sex.MALE, "notes": ""}


def _checked(db: Session, patient: Patient, fields: dict[str, Any]) -> core.PlanValues:
    policy_values = plan_policy(db, patient.clinic_id)
    base = core.defaults(policy_values, fields.get("protocol") or core.INDUCTION)
    pick = {
        "infusions_planned": base.infusions_planned, "dose_mg_per_kg": base.dose_mg_per_kg,
        "infusion_duration_min": base.infusion_duration_min, "max_infusions_per_week": base.max_infusions_per_week,
    }
    values = {key: (fields[key] if fields.get(key) not in (None, "") else default) for key, default in pick.items()}
    try:
        return core.check_plan(fields.get("protocol") or core.INDUCTION, values["infusions_planned"],
                               values["dose_mg_per_kg"], values["infusion_duration_min"],
                               values["max_infusions_per_week"], policy_values)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None


def _eligible_decision_id(db: Session, patient: Patient) -> int:
    decision = eligibility_repository.latest_for_patient(db, patient.id)
    if decision is None:
        raise ValidationFailed.single("eligibility", "eligible_decision_required",
                                      "there is no eligibility decision yet; evaluate eligibility before signing")
    if decision.final_outcome != "eligible":
        raise ValidationFailed.single("eligibility", "eligible_decision_required",
                                      f"the latest eligibility decision is {decision.final_outcome}; a plan can be "
                                      "signed only after an eligible decision (or a prescriber's override)")
    return decision.id


def create_plan(db: Session, ctx: Ctx, patient_id: int, data: PlanIn) -> TreatmentPlan:
    """A first plan (a draft, or signed at once with ``sign``). A patient with a signed plan gets a new version
    through ``supersede``; a patient with a draft edits it."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    if repository.draft_for_patient(db, patient.id) is not None:
        raise Conflict("This patient already has a draft plan; edit it, sign it or discard it.")
    if repository.current_signed_plan(db, patient.id) is not None:
        raise Conflict("This patient has a signed plan; supersede it to make a new version.")
    values = _checked(db, patient, data.model_dump())
    if data.sign:
        _eligible_decision_id(db, patient)  # refuse before anything is written
        accounts.require_recent_sign_in(db, ctx)
    plan = TreatmentPlan(
        clinic_id=patient.clinic_id, patient_id=patient.id,
        version_number=repository.highest_version(db, patient.id) + 1,
        protocol=values.protocol, infusions_planned=values.infusions_planned, dose_ug_per_kg=values.dose_ug_per_kg,
        infusion_duration_min=values.infusion_duration_min, max_infusions_per_week=values.max_infusions_per_week,
        pregnancy_check_required=(data.pregnancy_check_required if data.pregnancy_check_required is not None
                                  else patient.sex != Sex.MALE),
        notes=(data.notes or None), created_at=utcnow(), created_by_id=ctx.actor.user_id,
    )
    db.add(plan)
    db.flush()
    record(db, ctx.actor, "plan.draft", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="treatment_plan", record_id=plan.id, detail=_summary(plan))
    if data.sign:
        return _sign(db, ctx, patient, plan)
    return plan


def update_draft(db: Session, ctx: Ctx, patient_id: int, plan_id: int, data: PlanUpdate) -> TreatmentPlan:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    plan = _plan(db, patient, plan_id)
    if plan.is_signed:
        raise Conflict("A signed plan cannot be changed; supersede it with a new version.")
    changes = data.model_dump(exclude_unset=True)
    current = {"protocol": plan.protocol, "infusions_planned": plan.infusions_planned,
               "dose_mg_per_kg": plan.dose_mg_per_kg, "infusion_duration_min": plan.infusion_duration_min,
               "max_infusions_per_week": plan.max_infusions_per_week}
    merged = {**current, **{k: v for k, v in changes.items() if k in current and v is not None}}
    values = _checked(db, patient, merged)
    plan.protocol = values.protocol
    plan.infusions_planned = values.infusions_planned
    plan.dose_ug_per_kg = values.dose_ug_per_kg
    plan.infusion_duration_min = values.infusion_duration_min
    plan.max_infusions_per_week = values.max_infusions_per_week
    if changes.get("pregnancy_check_required") is not None:
        plan.pregnancy_check_required = changes["pregnancy_check_required"]
    if "notes" in changes:
        plan.notes = changes["notes"] or None
    db.flush()
    record(db, ctx.actor, "plan.update", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="treatment_plan", record_id=plan.id, detail=_summary(plan))
    return plan


def sign(db: Session, ctx: Ctx, patient_id: int, plan_id: int) -> TreatmentPlan:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    plan = _plan(db, patient, plan_id)
    if plan.is_signed:
        raise Conflict("This plan is already signed. Supersede it to make a new version.")
    return _sign(db, ctx, patient, plan)


def _sign(db: Session, ctx: Ctx, patient: Patient, plan: TreatmentPlan) -> TreatmentPlan:
    # The clinic's limits may have changed since the draft was written: check them again at signing.
    _checked(db, patient, {"protocol": plan.protocol, "infusions_planned": plan.infusions_planned,
                           "dose_mg_per_kg": plan.dose_mg_per_kg, "infusion_duration_min": plan.infusion_duration_min,
                           "max_infusions_per_week": plan.max_infusions_per_week})
    decision_id = _eligible_decision_id(db, patient)
    if plan.supersedes_id is not None:
        current = repository.current_signed_plan(db, patient.id)
        if current is None or current.id != plan.supersedes_id:
            raise Conflict("The plan this draft replaces is no longer the plan in force; start from the current one.")
    accounts.require_recent_sign_in(db, ctx)  # signing needs a recent sign-in (policy security.reauth_window_min)
    plan.eligibility_decision_id = decision_id
    plan.signed_at = utcnow()
    plan.signed_by_id = ctx.actor.user_id
    status_before = patient.status
    if patient.status in STARTS_TREATMENT:
        patient.status = PatientStatus.ACTIVE.value
    db.flush()
    record(db, ctx.actor, "plan.sign", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="treatment_plan", record_id=plan.id,
           detail={**_summary(plan), "eligibility_decision_id": decision_id,
                   "patient_status": [status_before, patient.status]})
    return plan


def supersede(db: Session, ctx: Ctx, patient_id: int, plan_id: int) -> TreatmentPlan:
    """A new draft version of the signed plan in force, with its values; the signed plan stays as it is."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    plan = _plan(db, patient, plan_id)
    current = repository.current_signed_plan(db, patient.id)
    if current is None or current.id != plan.id:
        raise Conflict("Only the signed plan in force can be superseded.")
    if repository.draft_for_patient(db, patient.id) is not None:
        raise Conflict("This patient already has a draft plan; edit, sign or discard it first.")
    draft = TreatmentPlan(
        clinic_id=patient.clinic_id, patient_id=patient.id,
        version_number=repository.highest_version(db, patient.id) + 1, supersedes_id=plan.id,
        protocol=plan.protocol, infusions_planned=plan.infusions_planned,
        dose_ug_per_kg=plan.dose_ug_per_kg, infusion_duration_min=plan.infusion_duration_min,
        max_infusions_per_week=plan.max_infusions_per_week, pregnancy_check_required=plan.pregnancy_check_required,
        notes=plan.notes, created_at=utcnow(), created_by_id=ctx.actor.user_id,
    )
    db.add(draft)
    db.flush()
    record(db, ctx.actor, "plan.supersede_draft", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="treatment_plan", record_id=draft.id, detail={"supersedes": plan.id})
    return draft


def discard_draft(db: Session, ctx: Ctx, patient_id: int, plan_id: int) -> None:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    plan = _plan(db, patient, plan_id)
    if plan.is_signed:
        raise Conflict("A signed plan is kept for ever; supersede it instead.")
    record(db, ctx.actor, "plan.discard", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="treatment_plan", record_id=plan.id, detail=_summary(plan))
    repository.delete(db, plan)


def current_for_own(db: Session, patient: Patient) -> TreatmentPlan | None:
    """The signed plan in force, for the patient's own page (the caller has resolved the patient)."""
    return repository.current_signed_plan(db, patient.id)


def _summary(plan: TreatmentPlan) -> dict[str, Any]:
    return {"version": plan.version_number, "protocol": plan.protocol, "infusions": plan.infusions_planned,
            "dose_ug_per_kg": plan.dose_ug_per_kg, "duration_min": plan.infusion_duration_min,
            "per_week": plan.max_infusions_per_week}
