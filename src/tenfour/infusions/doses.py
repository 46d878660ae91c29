"""The dose for a session: calculated by ``core.dosing`` from the measured weight and the signed plan, verified by a
second person, changed from the plan only by a prescriber with a reason. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from tenfour import policy as access
from tenfour.accounts import service as accounts
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.core import dosing as core_dosing
from tenfour.core.errors import CoreError
from tenfour.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from tenfour.infusions import clock, repository
from tenfour.infusions.models import InfusionDose
from tenfour.infusions.prechecks import check_height, exact_units
from tenfour.infusions.service import Step, clinic_of, get_session, patient_of, require_step, rules_for
from tenfour.policy import Permission

RULE_PRESCRIBER_ONLY = "dose_change_prescriber_only"


@dataclass(frozen=True)
class DoseInput:
    """What the nurse may change on the dose form; None keeps the signed plan's value or the clinic's setting."""

    dose_mg_per_kg: Decimal | None = None
    duration_min: int | None = None
    concentration_mg_per_ml: Decimal | None = None
    weight_basis: str | None = None
    height_cm: Decimal | None = None
    change_reason: str | None = None


def request_for(weight_kg: Decimal, sex: str | None, rules_dosing: core_dosing.DosingPolicy, plan_mg_per_kg: Decimal,
                plan_duration_min: int, default_concentration: Decimal, data: DoseInput,
                height_cm: Decimal | None) -> core_dosing.DoseRequest:
    return core_dosing.DoseRequest(
        weight_kg=weight_kg,
        dose_mg_per_kg=data.dose_mg_per_kg if data.dose_mg_per_kg is not None else plan_mg_per_kg,
        duration_min=data.duration_min if data.duration_min is not None else plan_duration_min,
        concentration_mg_per_ml=(data.concentration_mg_per_ml if data.concentration_mg_per_ml is not None
                                 else default_concentration),
        height_cm=height_cm, sex=sex if sex in ("male", "female") else None,
        weight_basis=data.weight_basis or rules_dosing.weight_basis, plan_mg_per_kg=plan_mg_per_kg)


def calculate_for_session(db: Session, ctx: Ctx, session_id: int, data: DoseInput) -> InfusionDose:
    """Calculate and store the dose after pre-checks. A dose (mg/kg) or duration different from the signed plan
    needs a prescriber (DOSE_CHANGE) and a reason: a nurse is refused with 403 naming the rule. A dose over the
    clinic maximum is refused with 422 naming the limit (``core.dosing``). An earlier dose of the session is kept,
    marked superseded."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.PRECHECKS_PASSED,), "dose_after_prechecks", "the dose can be calculated")
    clinic = clinic_of(db, session)
    rules = rules_for(db, clinic)
    patient = patient_of(db, ctx, session)
    plan = repository.plan(db, session.plan_id)
    precheck = repository.latest_precheck(db, session.id)
    assert plan is not None and precheck is not None and precheck.passed
    problems: list[Problem] = []
    for name, value, places in (("dose_mg_per_kg", data.dose_mg_per_kg, 3),
                                ("concentration_mg_per_ml", data.concentration_mg_per_ml, 3)):
        if value is not None:
            try:
                exact_units(value, name, places)
            except ValidationFailed as error:
                problems.extend(error.problems)
    height_cm = data.height_cm if data.height_cm is not None else precheck.height_cm
    try:
        height_mm = check_height(height_cm)
    except ValidationFailed as error:
        problems.extend(error.problems)
        height_mm = None
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    concentration = Decimal(str(rules.values["dose.concentration_mg_per_ml"]))
    request = request_for(precheck.weight_kg, patient.sex, rules.dosing, plan.dose_mg_per_kg,
                          plan.infusion_duration_min, concentration, data, height_cm)
    try:
        differs_dose = core_dosing.compare_to_plan(request.dose_mg_per_kg, plan.dose_mg_per_kg)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    differs_duration = int(request.duration_min) != plan.infusion_duration_min  # type: ignore[call-overload]
    reason = (data.change_reason or "").strip() or None
    if differs_dose or differs_duration:
        assert ctx.principal is not None
        field = "dose_mg_per_kg" if differs_dose else "duration_min"
        if not access.can(ctx.principal, Permission.DOSE_CHANGE):
            message = (f"a {'dose' if differs_dose else 'duration'} different from the signed plan "
                       f"({plan.dose_mg_per_kg} mg/kg over {plan.infusion_duration_min} min) needs a prescriber")
            raise Forbidden(message[0].upper() + message[1:] + ".", [Problem(field, RULE_PRESCRIBER_ONLY, message)])
        if reason is None or len(reason) < 3:
            raise ValidationFailed.single("change_reason", "required_for_change",
                                          "say why the dose differs from the signed plan")
        if len(reason) > 1000:
            raise ValidationFailed.single("change_reason", "max_length", "must be at most 1000 characters")
        accounts.require_recent_sign_in(db, ctx)  # overriding the plan's dose needs a recent sign-in
    try:
        result = core_dosing.calculate_dose(request, rules.dosing)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    now = clock.now()
    current = repository.current_dose(db, session.id)
    if current is not None:
        current.superseded_at = now
    dose = InfusionDose(
        session_id=session.id, weight_g=precheck.weight_g, height_mm=height_mm, sex=request.sex,
        weight_basis=result.weight_basis.value, dosing_weight_g=int(result.dosing_weight_kg * 1000),
        dose_ug_per_kg=int(Decimal(str(request.dose_mg_per_kg)) * 1000), plan_dose_ug_per_kg=plan.dose_ug_per_kg,
        duration_min=int(request.duration_min), plan_duration_min=plan.infusion_duration_min,  # type: ignore[call-overload]
        concentration_ug_per_ml=int(Decimal(str(request.concentration_mg_per_ml)) * 1000),
        dose_ug=int(result.dose_mg * 1000), volume_ul=int(result.volume_ml * 1000),
        rate_ul_per_h=int(result.rate_ml_per_h * 1000), formula=result.formula[:1000], warnings=list(result.warnings),
        differs_from_plan=differs_dose or differs_duration, change_reason=reason if (differs_dose or differs_duration)
        else None, calculated_by_id=ctx.actor.user_id, calculated_at=now)
    db.add(dose)
    db.flush()
    record(db, ctx.actor, "infusion.dose", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_dose", record_id=dose.id,
           detail={"dose_mg": str(result.dose_mg), "rate_ml_per_h": str(result.rate_ml_per_h),
                   "differs_from_plan": dose.differs_from_plan})
    return dose


def verify(db: Session, ctx: Ctx, session_id: int, dose_id: int) -> InfusionDose:
    """A second person checks the dose: anyone who may chart infusions except the person who calculated it."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.PRECHECKS_PASSED,), "verify_before_start", "a dose can be verified")
    dose = repository.dose(db, dose_id)
    if dose is None or dose.session_id != session.id:
        raise NotFound("No such dose for this session.")
    if dose.superseded_at is not None:
        raise Conflict("This dose was replaced by a newer calculation; verify the current one.",
                       [Problem("dose", "superseded", "a newer calculation replaced this dose")])
    if dose.verified_at is not None:
        raise Conflict("This dose is already verified.", [Problem("dose", "already_verified", "already verified")])
    if dose.calculated_by_id == ctx.actor.user_id:
        raise ValidationFailed.single("verified_by", "second_person",
                                      "the dose must be verified by a second person, not by whoever calculated it")
    dose.verified_by_id = ctx.actor.user_id
    dose.verified_at = clock.now()
    db.flush()
    record(db, ctx.actor, "infusion.dose_verified", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_dose", record_id=dose.id)
    return dose


def calculate_only(rules_dosing: core_dosing.DosingPolicy, request: core_dosing.DoseRequest) -> core_dosing.DoseResult:
    """The calculator without a session (POST /api/v1/dosing/calculate)."""
    try:
        return core_dosing.calculate_dose(request, rules_dosing)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
