"""JSON API of the chairside: the dose and vitals calculators, booking, and every step of a session."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.core import dosing as core_dosing
from tenfour.core import vitals as core_vitals
from tenfour.core.errors import CoreError
from tenfour.errors import NotFound, ValidationFailed
from tenfour.fhir import infusions as fhir
from tenfour.infusions import booking, clock, doses, monitoring, prechecks, repository, service, views
from tenfour.infusions.models import InfusionSession
from tenfour.infusions.schemas import (
    ActionsIn,
    AdverseEventIn,
    BookingIn,
    Cadss6In,
    DischargeIn,
    DoseCalculationIn,
    DoseCalculationOut,
    DoseIn,
    EndIn,
    OverrideIn,
    PrecheckIn,
    PumpIn,
    ReasonIn,
    ReasonOut,
    RescheduleIn,
    SessionOut,
    SessionSummaryOut,
    StateOut,
    TransitionOut,
    VitalsEvaluationIn,
    VitalsEvaluationOut,
    VitalsIn,
)
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1", tags=["infusion sessions"])
Chart = Annotated[Ctx, Depends(authorize(Permission.INFUSION_CHART))]
Prescribe = Annotated[Ctx, Depends(authorize(Permission.DOSE_CHANGE))]
Manage = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_MANAGE))]
View = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_VIEW))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role not allowed (the rule is named)"},
    404: {"description": "Not found in your clinics"}, 409: {"description": "Not possible at this step"},
    422: {"description": "Bad input or a rule not met: each problem names the field and the rule"}}


def _working_rules(db: Session, ctx: Ctx) -> service.ClinicRules:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    clinic = clinics_repository.by_id(db, clinic_id) if clinic_id else None
    if clinic is None:
        raise NotFound("You do not work in a clinic yet.")
    return service.rules_for(db, clinic)


# --- Calculators ------------------------------------------------------------------------------------------


@router.post("/dosing/calculate", response_model=DoseCalculationOut, responses=ERRORS)
def calculate_dose(data: DoseCalculationIn, db: DbSession, ctx: Chart) -> DoseCalculationOut:
    """Dose (mg), volume (mL) and pump rate (mL/h) with your clinic's weight basis, rounding and maximum.
    Over the maximum answers 422 naming the limit (``dose.max_mg_per_kg``); an impossible weight 422 too."""
    rules = _working_rules(db, ctx)
    result = doses.calculate_only(rules.dosing, core_dosing.DoseRequest(
        weight_kg=data.weight_kg, dose_mg_per_kg=data.dose_mg_per_kg, duration_min=data.duration_min,
        concentration_mg_per_ml=data.concentration_mg_per_ml, height_cm=data.height_cm, sex=data.sex,
        weight_basis=data.weight_basis))
    return DoseCalculationOut(dose_mg=float(result.dose_mg), volume_ml=float(result.volume_ml),
                              rate_ml_per_h=float(result.rate_ml_per_h), weight_basis=result.weight_basis.value,
                              warnings=result.warnings, dosing_weight_kg=float(result.dosing_weight_kg),
                              formula=result.formula,
                              max_dose_mg=float(result.max_dose_mg) if result.max_dose_mg is not None else None)


@router.post("/vitals/evaluate", response_model=VitalsEvaluationOut, responses=ERRORS)
def evaluate_vitals(data: VitalsEvaluationIn, db: DbSession, ctx: Chart) -> VitalsEvaluationOut:
    """``ok``, ``caution``, ``notify``, ``hold`` or ``stop`` with reasons, by your clinic's lines. Physiologically
    impossible values are refused (422), not evaluated."""
    rules = _working_rules(db, ctx)
    reading = core_vitals.VitalsReading(data.systolic_bp, data.diastolic_bp, data.heart_rate, data.spo2,
                                        data.respiratory_rate, data.sedation)
    try:
        evaluation = core_vitals.evaluate(reading, data.phase, rules.vitals)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    return VitalsEvaluationOut(level=evaluation.level.value, reasons=[
        ReasonOut(measurement=r.measurement, value=r.value, threshold=r.threshold, rule=r.rule, level=r.level.value,
                  message=r.message) for r in evaluation.reasons])


# --- Output -----------------------------------------------------------------------------------------------


def summary(db: Session, session: InfusionSession, chairs: dict[int, str] | None = None) -> SessionSummaryOut:
    """A session in a list; ``chairs`` (id -> name, of the clinic) saves looking up each session's chair."""
    if chairs is not None and session.chair_id in chairs:
        chair_name = chairs[session.chair_id]
    else:
        chair = repository.chair(db, session.chair_id)
        chair_name = chair.name if chair else ""
    return SessionSummaryOut(id=session.id, patient_id=session.patient_id, chair_id=session.chair_id,
                             chair=chair_name, plan_id=session.plan_id, status=session.status,
                             scheduled_start=session.scheduled_start, scheduled_end=session.scheduled_end,
                             infusion_started_at=session.infusion_started_at,
                             infusion_ended_at=session.infusion_ended_at, stopped_early=session.stopped_early,
                             abort_reason=session.abort_reason, rescheduled_from_id=session.rescheduled_from_id)


def _money(value: Any) -> Any:
    return str(value) if value is not None else None


def detail(db: Session, ctx: Ctx, session: InfusionSession) -> SessionOut:
    clinic = service.clinic_of(db, session)
    rules = service.rules_for(db, clinic)
    patient = service.patient_of(db, ctx, session)
    state = views.load_state(db, session, patient, rules, clock.now())
    out = summary(db, session).model_dump()
    disch = repository.discharge(db, session.id)
    return SessionOut(
        **out, cadss_assessment_id=session.cadss_assessment_id,
        duty_override=({"by_user_id": session.duty_override_by_id, "at": session.duty_override_at,
                        "reason": session.duty_override_reason} if session.duty_override_at else None),
        transitions=[TransitionOut.model_validate(t) for t in session.transitions],
        prechecks=[{"id": p.id, "recorded_at": p.recorded_at, "recorded_by_id": p.recorded_by_id,
                    "weight_kg": str(p.weight_kg), "weight_measured_at": p.weight_measured_at,
                    "height_cm": _money(p.height_cm), "vitals_id": p.vitals_id,
                    "fasting_hours": _money(p.fasting_hours), "escort_confirmed": p.escort_confirmed,
                    "pregnancy_result": p.pregnancy_result, "next_shift_source": p.next_shift_source,
                    "next_shift_at": p.next_shift_at, "expected_infusion_end": p.expected_infusion_end,
                    "findings": p.findings, "passed": p.passed, "passed_by_override": p.passed_by_override}
                   for p in repository.prechecks(db, session.id)],
        doses=[{"id": d.id, "weight_kg": str(d.weight_kg), "weight_basis": d.weight_basis,
                "dosing_weight_kg": str(d.dosing_weight_kg), "dose_mg_per_kg": str(d.dose_mg_per_kg),
                "plan_mg_per_kg": str(d.plan_mg_per_kg), "duration_min": d.duration_min,
                "concentration_mg_per_ml": str(d.concentration_mg_per_ml), "dose_mg": str(d.dose_mg),
                "volume_ml": str(d.volume_ml), "rate_ml_per_h": str(d.rate_ml_per_h), "formula": d.formula,
                "warnings": d.warnings, "differs_from_plan": d.differs_from_plan, "change_reason": d.change_reason,
                "calculated_by_id": d.calculated_by_id, "calculated_at": d.calculated_at,
                "verified_by_id": d.verified_by_id, "verified_at": d.verified_at, "superseded_at": d.superseded_at}
               for d in repository.doses(db, session.id)],
        vitals=[{"id": v.id, "phase": v.phase, "taken_at": v.taken_at, "systolic_bp": v.systolic_bp,
                 "diastolic_bp": v.diastolic_bp, "heart_rate": v.heart_rate, "spo2": v.spo2,
                 "respiratory_rate": v.respiratory_rate, "sedation": v.sedation, "level": v.level,
                 "reasons": v.reasons, "recorded_by_id": v.recorded_by_id, "alert_id": v.alert_id,
                 "actions": v.actions, "action_note": v.action_note} for v in repository.vitals(db, session.id)],
        pump=[{"at": e.at, "action": e.action, "rate_ml_per_h": _money(e.rate_ml_per_h), "by_user_id": e.by_user_id,
               "note": e.note} for e in repository.pump_events(db, session.id)],
        adverse_events=[{"id": a.id, "event_type": a.event_type, "description": a.description,
                         "severity": a.severity, "onset_at": a.onset_at, "action_taken": a.action_taken,
                         "outcome": a.outcome, "alert_id": a.alert_id}
                        for a in repository.adverse_events(db, session.id)],
        discharge=({"discharged_at": disch.discharged_at, "criteria": disch.criteria,
                    "return_to_duty_at": disch.return_to_duty_at, "return_to_driving_at": disch.return_to_driving_at,
                    "escort_name": disch.escort_name} if disch else None),
        state=StateOut(minutes_remaining=state.minutes_remaining, remaining=state.remaining_label,
                       next_vitals_due_at=state.due.next_due_at if state.due else None,
                       vitals_overdue=bool(state.due and state.due.overdue),
                       minutes_overdue=state.due.minutes_overdue if state.due else 0,
                       infused_ml=float(state.progress.infused_ml) if state.progress else None,
                       open_alert_ids=[a.id for a in state.open_alerts],
                       readings_needing_action=[v.id for v in state.needs_action]))


# --- Booking ----------------------------------------------------------------------------------------------


@router.post("/infusion-sessions", response_model=SessionSummaryOut, status_code=201, responses=ERRORS)
def book_session(data: BookingIn, db: DbSession, ctx: Manage) -> SessionSummaryOut:
    """Book a chair for a patient with a signed plan. Two sessions never hold one chair at one time (409)."""
    session = booking.book(db, ctx, patient_id=data.patient_id, chair_id=data.chair_id, start=data.start)
    return summary(db, session)


@router.get("/infusion-sessions", response_model=list[SessionSummaryOut], responses=ERRORS)
def list_sessions(db: DbSession, ctx: View,
                  day: Annotated[date | None, Query(alias="date", description="Local date (default today)")] = None,
                  ) -> list[SessionSummaryOut]:
    """The sessions of your clinic on one day (the clinic's time zone)."""
    rules = _working_rules(db, ctx)
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    assert clinic_id is not None
    start, end = views.day_bounds(day or service.local_today(clock.now(), rules.timezone), rules.timezone)
    return [summary(db, s) for s, _, _ in repository.for_clinic_between(db, clinic_id, start, end)]


@router.get("/patients/{patient_id}/infusion-sessions", response_model=list[SessionSummaryOut], responses=ERRORS)
def patient_sessions(patient_id: RecordId, db: DbSession, ctx: Chart) -> list[SessionSummaryOut]:
    from tenfour.patients import service as patients

    patient = patients.get_patient(db, ctx, patient_id, audit_action="infusion.list")
    chairs = {c.id: c.name for c in repository.chairs(db, patient.clinic_id, active_only=False)}
    return [summary(db, s, chairs) for s in repository.for_patient(db, patient.id)]


@router.get("/infusion-sessions/{session_id}", response_model=SessionOut, responses=ERRORS)
def get_session(session_id: RecordId, db: DbSession, ctx: Chart) -> SessionOut:
    """Everything charted for the session, with where it is now (time remaining, vitals due, open alerts)."""
    return detail(db, ctx, service.get_session(db, ctx, session_id))


@router.post("/infusion-sessions/{session_id}/reschedule", response_model=SessionSummaryOut, status_code=201,
             responses=ERRORS)
def reschedule(session_id: RecordId, data: RescheduleIn, db: DbSession, ctx: Manage) -> SessionSummaryOut:
    """Abort this session ('Rescheduled ...') and book a new one, linked to it."""
    return summary(db, booking.reschedule(db, ctx, session_id, chair_id=data.chair_id, start=data.start,
                                          reason=data.reason))


@router.post("/infusion-sessions/{session_id}/cancel", response_model=SessionSummaryOut, responses=ERRORS)
def cancel(session_id: RecordId, data: ReasonIn, db: DbSession, ctx: Manage) -> SessionSummaryOut:
    """Cancel a booking before the patient arrives."""
    return summary(db, service.cancel(db, ctx, session_id, data.reason))


# --- The session, step by step ----------------------------------------------------------------------------


@router.post("/infusion-sessions/{session_id}/arrive", response_model=SessionOut, responses=ERRORS)
def arrive(session_id: RecordId, db: DbSession, ctx: Chart) -> SessionOut:
    return detail(db, ctx, service.arrive(db, ctx, session_id))


@router.post("/infusion-sessions/{session_id}/prechecks", response_model=SessionOut, responses=ERRORS)
def record_prechecks(session_id: RecordId, data: PrecheckIn, db: DbSession, ctx: Chart) -> SessionOut:
    """One round of pre-checks. Failed checks are stored with their findings (the session stays 'arrived');
    impossible values are refused (422)."""
    prechecks.record_prechecks(db, ctx, session_id, prechecks.PrecheckInput(**data.model_dump()))
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/duty-override", response_model=SessionOut, responses=ERRORS)
def duty_override(session_id: RecordId, data: OverrideIn, db: DbSession, ctx: Prescribe) -> SessionOut:
    """A prescriber's override of the no-duty window for this session, with a reason."""
    return detail(db, ctx, prechecks.record_duty_override(db, ctx, session_id, data.reason))


@router.post("/infusion-sessions/{session_id}/dose", response_model=SessionOut, status_code=201, responses=ERRORS)
def calculate_session_dose(session_id: RecordId, data: DoseIn, db: DbSession, ctx: Chart) -> SessionOut:
    """The dose from the measured weight and the signed plan. A different dose or duration needs a prescriber."""
    doses.calculate_for_session(db, ctx, session_id, doses.DoseInput(**data.model_dump()))
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/dose/{dose_id}/verify", response_model=SessionOut, responses=ERRORS)
def verify_dose(session_id: RecordId, dose_id: RecordId, db: DbSession, ctx: Chart) -> SessionOut:
    """The second person's check (not whoever calculated the dose)."""
    doses.verify(db, ctx, session_id, dose_id)
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/start", response_model=SessionOut, responses=ERRORS)
def start(session_id: RecordId, db: DbSession, ctx: Chart) -> SessionOut:
    return detail(db, ctx, service.start_infusion(db, ctx, session_id))


@router.post("/infusion-sessions/{session_id}/pump", response_model=SessionOut, responses=ERRORS)
def pump(session_id: RecordId, data: PumpIn, db: DbSession, ctx: Chart) -> SessionOut:
    """Pause, resume, or set a new rate (never above the verified rate)."""
    service.pump_action(db, ctx, session_id, data.action, rate_ml_per_h=data.rate_ml_per_h, note=data.note)
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/vitals", response_model=SessionOut, status_code=201, responses=ERRORS)
def record_vitals(session_id: RecordId, data: VitalsIn, db: DbSession, ctx: Chart) -> SessionOut:
    """A timed reading while infusing or in recovery. Notify and stop levels raise an urgent alert at once."""
    monitoring.record_vitals(db, ctx, session_id, monitoring.VitalsInput(**data.model_dump()))
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/vitals/{reading_id}/actions", response_model=SessionOut,
             responses=ERRORS)
def record_actions(session_id: RecordId, reading_id: RecordId, data: ActionsIn, db: DbSession,
                   ctx: Chart) -> SessionOut:
    """Actions taken about a reading: rate_reduced, paused, stopped, medication_given, prescriber_called."""
    monitoring.record_actions(db, ctx, session_id, reading_id, list(data.actions), data.note,
                              data.new_rate_ml_per_h)
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/end", response_model=SessionOut, responses=ERRORS)
def end(session_id: RecordId, data: EndIn, db: DbSession, ctx: Chart) -> SessionOut:
    """The infusion is complete: recovery begins."""
    return detail(db, ctx, service.end_infusion(db, ctx, session_id, note=data.note))


@router.post("/infusion-sessions/{session_id}/cadss6", response_model=SessionOut, status_code=201, responses=ERRORS)
def cadss6(session_id: RecordId, data: Cadss6In, db: DbSession, ctx: Chart) -> SessionOut:
    """The CADSS-6 at the end of the infusion (answers q1, q2, q6, q7, q15, q22: 0-4 each)."""
    monitoring.record_cadss6(db, ctx, session_id, dict(data.answers))
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/adverse-events", response_model=SessionOut, status_code=201,
             responses=ERRORS)
def adverse_event(session_id: RecordId, data: AdverseEventIn, db: DbSession, ctx: Chart) -> SessionOut:
    monitoring.record_adverse_event(db, ctx, session_id, monitoring.AdverseEventInput(**data.model_dump()))
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/discharge", response_model=SessionOut, responses=ERRORS)
def discharge(session_id: RecordId, data: DischargeIn, db: DbSession, ctx: Chart) -> SessionOut:
    """Discharge when every criterion is met; otherwise 422 naming each unmet criterion and its rule."""
    service.discharge(db, ctx, session_id, alert_and_oriented=data.alert_and_oriented,
                      escort_present=data.escort_present, escort_name=data.escort_name,
                      instructions=data.instructions)
    return detail(db, ctx, service.get_session(db, ctx, session_id, audit_action=None))


@router.post("/infusion-sessions/{session_id}/abort", response_model=SessionOut, responses=ERRORS)
def abort(session_id: RecordId, data: ReasonIn, db: DbSession, ctx: Chart) -> SessionOut:
    """Stop the session at any step, with a reason (a running infusion is stopped)."""
    return detail(db, ctx, service.abort(db, ctx, session_id, data.reason))


@router.get("/infusion-sessions/{session_id}/fhir", responses=ERRORS)
def session_fhir(session_id: RecordId, request: Request, db: DbSession, ctx: Chart) -> dict[str, Any]:
    """A FHIR R4 Bundle: the MedicationAdministration of the dose given and the vital signs as Observations."""
    session = service.get_session(db, ctx, session_id, audit_action="infusion.fhir_export")
    return fhir.session_bundle(db, session, request.app.state.settings.base_url)
