"""Pre-checks at the chairside: weight, pre-infusion vitals, fasting, escort, pregnancy test and the next duty shift.
A round that passes moves the session to 'prechecks_passed'; a round that fails stays on record with its findings.
A prescriber may override the no-duty window (DOSE_CHANGE). Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import dosing as core_dosing
from tenfour.core import infusion as core
from tenfour.core import vitals as core_vitals
from tenfour.core.errors import CoreError
from tenfour.errors import Problem, ValidationFailed
from tenfour.infusions import clock, repository
from tenfour.infusions.models import InfusionPrecheck, InfusionSession, InfusionVitals, NextShiftSource
from tenfour.infusions.service import (
    ClinicRules,
    Step,
    check_step,
    clean_reason,
    clinic_of,
    get_session,
    patient_of,
    require_step,
    rules_for,
    transition,
)
from tenfour.patients.models import Patient
from tenfour.scheduling.rosters import patient_roster

MAX_WEIGHT_AGE_ENTRY = timedelta(days=365)  # a weight entered as measured longer ago than this is a typo


@dataclass(frozen=True)
class PrecheckInput:
    weight_kg: Decimal
    systolic_bp: int
    diastolic_bp: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None = None
    sedation: str | None = None
    weight_measured_at: datetime | None = None
    height_cm: Decimal | None = None
    fasting_hours: Decimal | None = None
    escort_confirmed: bool = False
    escort_name: str | None = None
    pregnancy_result: str | None = None
    next_shift_at: datetime | None = None
    no_shift_in_window: bool = False


def exact_units(value: Decimal, field: str, places: int) -> int:
    """An exact integer count of 10**-places units, or 422 (a weight of 80.5555 kg is a typing error)."""
    try:
        scaled = value * (10 ** places)
    except InvalidOperation:
        raise ValidationFailed.single(field, "number", "must be a number") from None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValidationFailed.single(field, "precision", f"use at most {places} decimals")
    return int(scaled)


def check_weight(weight_kg: Decimal) -> int:
    """Grams, after the same plausibility limits as ``core.dosing`` (more than 20 kg, at most 350 kg)."""
    if not (core_dosing.MIN_WEIGHT_KG < weight_kg <= core_dosing.MAX_WEIGHT_KG):
        raise ValidationFailed.single("weight_kg", "plausible_range",
                                      f"{weight_kg} kg is not a plausible weight (must be more than "
                                      f"{core_dosing.MIN_WEIGHT_KG} kg and at most {core_dosing.MAX_WEIGHT_KG} kg)")
    return exact_units(weight_kg, "weight_kg", 3)


def check_height(height_cm: Decimal | None) -> int | None:
    if height_cm is None:
        return None
    if not (core_dosing.MIN_HEIGHT_CM <= height_cm <= core_dosing.MAX_HEIGHT_CM):
        raise ValidationFailed.single("height_cm", "plausible_range",
                                      f"{height_cm} cm is outside {core_dosing.MIN_HEIGHT_CM}-"
                                      f"{core_dosing.MAX_HEIGHT_CM} cm")
    return exact_units(height_cm, "height_cm", 1)


def expected_infusion_window(session: InfusionSession, rules: ClinicRules, now: datetime) -> tuple[datetime, datetime]:
    """When the infusion is expected to run: from the later of now and the booked start plus preparation time, for
    the plan's duration."""
    start = max(now, session.scheduled_start + timedelta(minutes=rules.prep_min))
    return start, start + timedelta(minutes=session.infusion_duration_min)


def duty_info(db: Session, patient: Patient, clinic: Clinic, declared_at: datetime | None,
              declared_none: bool) -> core.DutyInfo:
    roster = patient_roster(db, patient, clinic.timezone)  # with one-off changes (overtime, leave) and custom
    if roster is not None:
        return core.DutyInfo(roster=roster)
    return core.DutyInfo(declared_next_shift_at=declared_at, declared_no_shift_in_window=declared_none)


def duty_preview(db: Session, session: InfusionSession, patient: Patient, clinic: Clinic, rules: ClinicRules,
                 now: datetime) -> core.DutyFinding:
    """What the pre-check page shows before anything is entered: the roster's verdict, or 'ask the patient'."""
    start, end = expected_infusion_window(session, rules, now)
    return core.duty_check(duty_info(db, patient, clinic, None, False), start, end, rules.prechecks.no_duty_window_h,
                           clinic.timezone)


def duty_at_start(db: Session, ctx: Ctx, session: InfusionSession, clinic: Clinic, rules: ClinicRules,
                  start: datetime, end: datetime) -> core.DutyFinding:
    """The duty check again when the pump starts, with what the last pre-check round learnt."""
    patient = patient_of(db, ctx, session)
    latest = repository.latest_precheck(db, session.id)
    declared_at = latest.next_shift_at if latest and latest.next_shift_source == NextShiftSource.ASKED else None
    declared_none = bool(latest and latest.next_shift_source == NextShiftSource.ASKED and latest.next_shift_at is None)
    info = duty_info(db, patient, clinic, declared_at, declared_none)
    return core.duty_check(info, start, end, rules.prechecks.no_duty_window_h, clinic.timezone)


def record_prechecks(db: Session, ctx: Ctx, session_id: int,
                     data: PrecheckInput) -> tuple[InfusionPrecheck, core.PrecheckResult]:
    """Evaluate and store one round of pre-checks. Bad input (an impossible weight or blood pressure) is refused
    with 422 and nothing is stored; checks that fail are stored with their findings and the session stays
    'arrived'. When every check passes (or only the duty shift blocks and a prescriber's override is on record),
    the session moves to 'prechecks_passed'."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.ARRIVED,), "prechecks_when_arrived", "pre-checks can be recorded")
    clinic = clinic_of(db, session)
    rules = rules_for(db, clinic)
    patient = patient_of(db, ctx, session)
    plan = repository.plan(db, session.plan_id)
    assert plan is not None
    now = clock.now()

    problems: list[Problem] = []
    weight_g = height_mm = None
    try:
        weight_g = check_weight(data.weight_kg)
    except ValidationFailed as error:
        problems.extend(error.problems)
    try:
        height_mm = check_height(data.height_cm)
    except ValidationFailed as error:
        problems.extend(error.problems)
    measured = data.weight_measured_at or now
    if measured.tzinfo is None:
        problems.append(Problem("weight_measured_at", "timezone_aware", "must include a time zone"))
    elif measured > now + timedelta(minutes=5):
        problems.append(Problem("weight_measured_at", "not_in_future", "cannot be in the future"))
    elif measured < now - MAX_WEIGHT_AGE_ENTRY:
        problems.append(Problem("weight_measured_at", "too_old", "cannot be more than a year ago"))
    if data.next_shift_at is not None and data.next_shift_at.tzinfo is None:
        problems.append(Problem("next_shift_at", "timezone_aware", "must include a time zone"))
    if data.escort_name and len(data.escort_name) > 120:
        problems.append(Problem("escort_name", "max_length", "must be at most 120 characters"))
    reading = core_vitals.VitalsReading(data.systolic_bp, data.diastolic_bp, data.heart_rate, data.spo2,
                                        data.respiratory_rate, data.sedation or None, now)
    evaluation = None
    try:
        evaluation = core_vitals.evaluate(reading, core_vitals.Phase.PRE, rules.vitals)
    except CoreError as error:
        problems.extend(Problem(p.field, p.rule, p.message) for p in error.problems)
    fasting = None
    if data.fasting_hours is not None:
        fasting = float(data.fasting_hours)
    start, end = expected_infusion_window(session, rules, now)
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    assert evaluation is not None and weight_g is not None
    try:
        duty = core.duty_check(duty_info(db, patient, clinic, data.next_shift_at, data.no_shift_in_window),
                               start, end, rules.prechecks.no_duty_window_h, clinic.timezone)
        result = core.evaluate_prechecks(
            now=now, weight_measured_at=measured, pre_vitals=evaluation, fasting_hours=fasting,
            escort_confirmed=data.escort_confirmed, pregnancy_check_required=plan.pregnancy_check_required,
            pregnancy_result=data.pregnancy_result or None, duty=duty, policy=rules.prechecks, tz=clinic.timezone)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None

    vitals_row = InfusionVitals(session_id=session.id, phase="pre", taken_at=now, systolic_bp=data.systolic_bp,
                                diastolic_bp=data.diastolic_bp, heart_rate=data.heart_rate, spo2=data.spo2,
                                respiratory_rate=data.respiratory_rate, sedation=data.sedation or None,
                                level=evaluation.level.value, reasons=[reason_dict(r) for r in evaluation.reasons],
                                recorded_by_id=ctx.actor.user_id, recorded_at=now)
    db.add(vitals_row)
    db.flush()
    by_override = result.passed_with_duty_override() and session.duty_override_at is not None
    source = {"roster": NextShiftSource.ROSTER, "asked": NextShiftSource.ASKED}.get(duty.source,
                                                                                   NextShiftSource.UNKNOWN)
    row = InfusionPrecheck(
        session_id=session.id, recorded_at=now, recorded_by_id=ctx.actor.user_id, weight_g=weight_g,
        weight_measured_at=measured.astimezone(UTC), height_mm=height_mm, vitals_id=vitals_row.id,
        fasting_min=None if fasting is None else round(fasting * 60), escort_confirmed=data.escort_confirmed,
        escort_name=(data.escort_name or "").strip() or None, pregnancy_result=data.pregnancy_result or None,
        next_shift_source=source.value, next_shift_at=duty.next_shift_at, expected_infusion_end=end,
        findings=[f.as_dict() for f in result.findings], passed=result.passed or by_override,
        passed_by_override=by_override)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "infusion.prechecks", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_session", record_id=session.id,
           detail={"passed": row.passed, "blocking": [f.code for f in result.blocking]})
    if row.passed:
        transition(db, ctx, session, Step.PRECHECKS_PASSED, at=now,
                   note="passed with a prescriber's override of the no-duty window" if by_override else None)
    return row, result


def reason_dict(reason: core_vitals.VitalsReason) -> dict[str, object]:
    return {"measurement": reason.measurement, "value": reason.value, "threshold": reason.threshold,
            "rule": reason.rule, "level": reason.level.value, "message": reason.message}


def record_duty_override(db: Session, ctx: Ctx, session_id: int, reason: str | None) -> InfusionSession:
    """A prescriber accepts that a duty shift starts within the no-duty window after this infusion (route:
    DOSE_CHANGE). If the last pre-check round failed only on the duty shift, the session passes pre-checks now."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.ARRIVED, Step.PRECHECKS_PASSED), "override_before_start",
                 "the no-duty window can be overridden")
    text = clean_reason(reason)
    now = clock.now()
    session.duty_override_by_id = ctx.actor.user_id
    session.duty_override_at = now
    session.duty_override_reason = text
    db.flush()
    record(db, ctx.actor, "infusion.duty_override", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_session", record_id=session.id, detail={"reason": text[:200]})
    latest = repository.latest_precheck(db, session.id)
    if session.step is Step.ARRIVED and latest is not None and not latest.passed:
        blocking = [f for f in latest.findings if f.get("outcome") == core.Outcome.BLOCK.value]
        if blocking and all(f.get("code") == core.CHECK_DUTY for f in blocking):
            check_step(session, Step.PRECHECKS_PASSED)
            latest.passed = True
            latest.passed_by_override = True
            transition(db, ctx, session, Step.PRECHECKS_PASSED, at=now,
                       note="passed with a prescriber's override of the no-duty window")
    return session
