"""Use cases of an infusion session: load it in scope, move it along its lifecycle (arrive, start, pump, end,
discharge, abort), each step recorded with who and when. Never commits (the request or ``session_scope`` does).

The rules come from the pure core (``core.infusion``, ``core.vitals``, ``core.dosing``); this module loads, checks
scope and state, and stores. Pre-checks, doses, monitoring and booking have their own modules beside this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import infusion as core
from tenfour.core import vitals as core_vitals
from tenfour.core.dosing import DosingPolicy
from tenfour.core.errors import CoreError
from tenfour.core.vitals import VitalsPolicy
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.infusions import clock, repository
from tenfour.infusions.models import (
    InfusionDischarge,
    InfusionPumpEvent,
    InfusionSession,
    InfusionTransition,
    InfusionVitals,
)
from tenfour.patients import service as patients
from tenfour.patients.models import Patient

Step = core.Step
CLOCK_SKEW = timedelta(minutes=2)  # a reading's time may be this far ahead of the server's clock
REASON_MIN, REASON_MAX = 3, 500


@dataclass(frozen=True)
class ClinicRules:
    """The clinic's policy values, in the shapes the core rules take."""

    values: dict[str, Any]
    dosing: DosingPolicy
    vitals: VitalsPolicy
    prechecks: core.PrecheckPolicy
    timezone: str

    @property
    def prep_min(self) -> int:
        return int(self.values["schedule.prep_min"])

    @property
    def recovery_min(self) -> int:
        return int(self.values["schedule.recovery_min"])

    @property
    def second_person_verification(self) -> bool:
        return bool(self.values["dose.second_person_verification"])


def rules_for(db: Session, clinic: Clinic) -> ClinicRules:
    values = effective_policy(db, clinic.id)
    return ClinicRules(values, DosingPolicy.from_policy(values), VitalsPolicy.from_policy(values),
                       core.PrecheckPolicy.from_policy(values), clinic.timezone)


def clinic_of(db: Session, session: InfusionSession) -> Clinic:
    clinic = clinics_repository.by_id(db, session.clinic_id)
    assert clinic is not None  # foreign key
    return clinic


def get_session(db: Session, ctx: Ctx, session_id: int, *, for_update: bool = False,
                audit_action: str | None = "infusion.view") -> InfusionSession:
    """A session in one of the staff member's clinics (404 otherwise, worded as for a missing one)."""
    assert ctx.principal is not None
    session = repository.by_id(db, session_id, for_update=for_update)
    if session is None or not ctx.principal.is_staff or session.clinic_id not in ctx.principal.clinic_ids:
        raise NotFound("No such infusion session.")
    if audit_action:
        record(db, ctx.actor, audit_action, clinic_id=session.clinic_id, patient_id=session.patient_id,
               record_type="infusion_session", record_id=session.id)
    return session


def patient_of(db: Session, ctx: Ctx, session: InfusionSession) -> Patient:
    return patients.get_patient(db, ctx, session.patient_id, audit_action=None)


def check_step(session: InfusionSession, target: Step) -> None:
    """Conflict (409) naming the lifecycle rule when ``target`` cannot follow the session's step."""
    try:
        core.check_transition(session.status, target)
    except CoreError as error:
        raise Conflict(error.problems[0].message,
                       [Problem(p.field, p.rule, p.message) for p in error.problems]) from None


def require_step(session: InfusionSession, allowed: tuple[Step, ...], rule: str, what: str) -> None:
    """Conflict (409) unless the session is in one of ``allowed``: e.g. vitals for a session that is not running."""
    if session.step not in allowed:
        steps = " or ".join(f"'{s.label}'" for s in allowed)
        message = f"{what} only while the session is {steps}; it is '{session.step.label}'"
        raise Conflict(message[0].upper() + message[1:] + ".", [Problem("status", rule, message)])


def transition(db: Session, ctx: Ctx, session: InfusionSession, target: Step, *, note: str | None = None,
               at: datetime | None = None) -> InfusionTransition:
    """Move the session one step (or to aborted), recording who and when."""
    check_step(session, target)
    moment = at or clock.now()
    step = InfusionTransition(session_id=session.id, from_status=session.status, to_status=target.value, at=moment,
                              by_user_id=ctx.actor.user_id, note=(note or None) and note[:500])
    session.transitions.append(step)
    before = session.status
    session.status = target.value
    session.updated_at = moment
    db.flush()
    record(db, ctx.actor, "infusion.transition", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_session", record_id=session.id,
           detail={"from": before, "to": target.value, **({"note": note[:200]} if note else {})})
    return step


def clean_reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if len(text) < REASON_MIN:
        raise ValidationFailed.single(field, "required", "say why (at least 3 characters)")
    if len(text) > REASON_MAX:
        raise ValidationFailed.single(field, "max_length", f"must be at most {REASON_MAX} characters")
    return text


def local_today(now: datetime, tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).date()


# --- Lifecycle steps --------------------------------------------------------------------------------------


def arrive(db: Session, ctx: Ctx, session_id: int) -> InfusionSession:
    """The patient is here. Only on the day of the booking (in the clinic's time zone)."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    check_step(session, Step.ARRIVED)
    clinic = clinic_of(db, session)
    now = clock.now()
    if local_today(session.scheduled_start, clinic.timezone) != local_today(now, clinic.timezone):
        raise ValidationFailed.single("status", "arrive_on_the_day",
                                      "a patient can be checked in only on the day of the booking")
    transition(db, ctx, session, Step.ARRIVED, at=now)
    return session


def abort(db: Session, ctx: Ctx, session_id: int, reason: str | None, *, at: datetime | None = None) -> InfusionSession:
    """Stop the session at any step before the end, with a reason. An infusion that is running is stopped."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    text = clean_reason(reason)
    check_step(session, Step.ABORTED)
    now = at or clock.now()
    if session.step is Step.INFUSING:
        stop_pump(db, ctx, session, now, note=f"aborted: {text}")
        session.infusion_ended_at = now
        session.stopped_early = True
    session.abort_reason = text
    transition(db, ctx, session, Step.ABORTED, note=text, at=now)
    return session


def cancel(db: Session, ctx: Ctx, session_id: int, reason: str | None) -> InfusionSession:
    """A booking called off before the patient arrives (front desk: SCHEDULE_MANAGE)."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.SCHEDULED,), "cancel_before_arrival", "a booking can be cancelled")
    return abort(db, ctx, session_id, f"Cancelled: {clean_reason(reason)}")


def stop_pump(db: Session, ctx: Ctx, session: InfusionSession, at: datetime, note: str | None = None,
              vitals_id: int | None = None) -> None:
    db.add(InfusionPumpEvent(session_id=session.id, at=at, action=core.PumpAction.STOP.value,
                             by_user_id=ctx.actor.user_id, note=note and note[:500], vitals_id=vitals_id))
    db.flush()


def pump_progress(db: Session, session: InfusionSession, now: datetime) -> core.Progress | None:
    dose = repository.current_dose(db, session.id)
    events = repository.pump_events(db, session.id)
    if dose is None or not events:
        return None
    return core.progress([core.PumpEvent(e.at, e.action, e.rate_ml_per_h) for e in events], dose.volume_ml, now)


def start_infusion(db: Session, ctx: Ctx, session_id: int) -> InfusionSession:
    """Start the pump at the verified dose's rate. Checks again that no duty shift starts within the no-duty window
    after the infusion would now end (the start may be later than planned)."""
    from tenfour.infusions import prechecks

    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    check_step(session, Step.INFUSING)
    clinic = clinic_of(db, session)
    rules = rules_for(db, clinic)
    dose = repository.current_dose(db, session.id)
    if dose is None:
        raise ValidationFailed.single("dose", "dose_required", "calculate the dose before starting the infusion")
    if rules.second_person_verification and not dose.is_verified:
        raise ValidationFailed.single("dose", "dose.second_person_verification",
                                      "a second person must verify the dose before the infusion starts")
    now = clock.now()
    duty = prechecks.duty_at_start(db, ctx, session, clinic, rules, now, now + timedelta(minutes=dose.duration_min))
    if duty.finding.outcome is core.Outcome.BLOCK and session.duty_override_at is None:
        raise ValidationFailed.single("next_duty_shift", duty.finding.rule, duty.finding.message)
    db.add(InfusionPumpEvent(session_id=session.id, at=now, action=core.PumpAction.START.value,
                             rate_ul_per_h=dose.rate_ul_per_h, by_user_id=ctx.actor.user_id))
    session.infusion_started_at = now
    transition(db, ctx, session, Step.INFUSING, at=now,
               note=f"{dose.dose_mg} mg at {dose.rate_ml_per_h} mL/h over {dose.duration_min} min")
    return session


def pump_action(db: Session, ctx: Ctx, session_id: int, action: str, *, rate_ml_per_h: Decimal | None = None,
                note: str | None = None, vitals_id: int | None = None,
                session: InfusionSession | None = None) -> InfusionPumpEvent:
    """Pause, resume or change the rate of a running infusion. A new rate must be above 0 and at most the verified
    dose's rate (product choice: the pump never runs faster than what two people checked)."""
    session = session or get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.INFUSING,), "infusion_not_running", "the pump can be changed")
    try:
        chosen = core.PumpAction(action)
    except ValueError:
        raise ValidationFailed.single("action", "known_choice", "must be pause, resume or rate") from None
    if chosen not in (core.PumpAction.PAUSE, core.PumpAction.RESUME, core.PumpAction.RATE):
        raise ValidationFailed.single("action", "known_choice", "must be pause, resume or rate")
    now = clock.now()
    state = pump_progress(db, session, now)
    dose = repository.current_dose(db, session.id)
    assert state is not None and dose is not None  # an infusing session has a started pump and a dose
    if chosen is core.PumpAction.PAUSE and not state.running:
        raise Conflict("The infusion is already paused.", [Problem("action", "already_paused", "already paused")])
    if chosen is core.PumpAction.RESUME and not state.paused:
        raise Conflict("The infusion is running.", [Problem("action", "not_paused", "the infusion is not paused")])
    rate_ul = None
    if chosen is core.PumpAction.RATE:
        if rate_ml_per_h is None:
            raise ValidationFailed.single("rate_ml_per_h", "required", "give the new rate in mL/h")
        if not rate_ml_per_h.is_finite():
            raise ValidationFailed.single("rate_ml_per_h", "number", "must be a finite number")
        rate_ul = int(rate_ml_per_h * 1000)
        if rate_ul <= 0 or Decimal(rate_ul) != rate_ml_per_h * 1000:
            raise ValidationFailed.single("rate_ml_per_h", "plausible_range",
                                          "must be more than 0 mL/h, to at most 3 decimals")
        if rate_ul > dose.rate_ul_per_h:
            raise ValidationFailed.single("rate_ml_per_h", "rate_above_verified",
                                          f"must not be above the verified rate of {dose.rate_ml_per_h} mL/h")
    event = InfusionPumpEvent(session_id=session.id, at=now, action=chosen.value, rate_ul_per_h=rate_ul,
                              by_user_id=ctx.actor.user_id, vitals_id=vitals_id, note=(note or None) and note[:500])
    db.add(event)
    db.flush()
    record(db, ctx.actor, "infusion.pump", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_session", record_id=session.id,
           detail={"action": chosen.value, **({"rate_ml_per_h": str(rate_ml_per_h)} if rate_ul else {})})
    return event


def end_infusion(db: Session, ctx: Ctx, session_id: int, *, stopped_early: bool = False, note: str | None = None,
                 vitals_id: int | None = None, session: InfusionSession | None = None) -> InfusionSession:
    """The infusion is over (complete, or stopped early): the pump stops and recovery begins."""
    session = session or get_session(db, ctx, session_id, for_update=True, audit_action=None)
    check_step(session, Step.RECOVERY)
    now = clock.now()
    state = pump_progress(db, session, now)
    words = note or ("stopped early" if stopped_early else "infusion complete")
    if state is not None:
        words += f"; about {state.infused_ml} mL given, {state.remaining_ml} mL left"
    stop_pump(db, ctx, session, now, note=words, vitals_id=vitals_id)
    session.infusion_ended_at = now
    session.stopped_early = stopped_early
    transition(db, ctx, session, Step.RECOVERY, note=words, at=now)
    return session


# --- Discharge ---------------------------------------------------------------------------------------------


def last_reading(db: Session, session_id: int) -> InfusionVitals | None:
    rows = repository.vitals(db, session_id)
    return rows[-1] if rows else None


def as_reading(row: InfusionVitals) -> core_vitals.VitalsReading:
    return core_vitals.VitalsReading(row.systolic_bp, row.diastolic_bp, row.heart_rate, row.spo2,
                                     row.respiratory_rate, row.sedation, row.taken_at)


def readiness(db: Session, session: InfusionSession, rules: ClinicRules, *, alert_and_oriented: bool,
              escort_present: bool, now: datetime) -> core_vitals.Readiness:
    assert session.infusion_ended_at is not None
    row = last_reading(db, session.id)
    return core_vitals.discharge_readiness(session.infusion_ended_at, now, as_reading(row) if row else None,
                                           alert_and_oriented, escort_present, rules.vitals)


def discharge(db: Session, ctx: Ctx, session_id: int, *, alert_and_oriented: bool, escort_present: bool,
              escort_name: str | None = None, instructions: str | None = None) -> InfusionDischarge:
    """Discharge when every criterion is met (``core.vitals.discharge_readiness``); otherwise 422 listing each
    unmet criterion with its rule, and the session stays in recovery. Records the earliest return to duty and to
    driving (``core.vitals.return_to_duty_at``: infusion end + ``duty.no_duty_window_h``)."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    check_step(session, Step.DISCHARGED)
    clinic = clinic_of(db, session)
    rules = rules_for(db, clinic)
    now = clock.now()
    name = (escort_name or "").strip() or None
    if name and len(name) > 120:
        raise ValidationFailed.single("escort_name", "max_length", "must be at most 120 characters")
    if instructions and len(instructions) > 2000:
        raise ValidationFailed.single("instructions", "max_length", "must be at most 2000 characters")
    ready = readiness(db, session, rules, alert_and_oriented=alert_and_oriented, escort_present=escort_present,
                      now=now)
    if not ready.ready:
        problems = [Problem(c.code, c.rule, c.message) for c in ready.unmet]
        raise ValidationFailed("Not ready for discharge: " + "; ".join(c.message for c in ready.unmet), problems)
    assert session.infusion_ended_at is not None
    back = core_vitals.return_to_duty_at(session.infusion_ended_at, rules.vitals)
    last = last_reading(db, session.id)
    criteria = [
        {"code": "observation_time", "rule": "discharge.min_observation_min", "met": True,
         "detail": f"{int((now - session.infusion_ended_at).total_seconds() // 60)} min since the infusion ended "
                   f"(at least {rules.vitals.min_observation_min})"},
        {"code": "vitals_under_notify_lines", "rule": "discharge.vitals_under_notify_lines", "met": True,
         "detail": f"last vitals {last.systolic_bp}/{last.diastolic_bp} mmHg, HR {last.heart_rate}, SpO2 {last.spo2}%"
         if last else ""},
        {"code": "alert_and_oriented", "rule": "discharge.alert_and_oriented", "met": alert_and_oriented,
         "detail": "alert and oriented"},
        {"code": "escort_present", "rule": "discharge.escort_required", "met": escort_present,
         "detail": f"responsible adult present{': ' + name if name else ''}"},
    ]
    row = InfusionDischarge(session_id=session.id, discharged_at=now, discharged_by_id=ctx.actor.user_id,
                            alert_and_oriented=alert_and_oriented, escort_present=escort_present, escort_name=name,
                            last_vitals_id=last.id if last else None,
                            observation_min=int((now - session.infusion_ended_at).total_seconds() // 60),
                            criteria=criteria, return_to_duty_at=back, return_to_driving_at=back,
                            no_duty_window_h=int(rules.vitals.no_duty_window_h),
                            instructions=(instructions or "").strip() or None)
    db.add(row)
    db.flush()
    transition(db, ctx, session, Step.DISCHARGED, at=now, note="discharge criteria met")
    record(db, ctx.actor, "infusion.discharge", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_session", record_id=session.id,
           detail={"return_to_duty_at": back.isoformat()})
    return row

