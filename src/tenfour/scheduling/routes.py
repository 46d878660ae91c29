"""JSON API of shift-aware scheduling: the roster preview, the patient's roster and duty changes, the waiting list,
"schedule waiting requests" (preview, commit, discard), rescheduling, the patient's own slot choice, the clinic
calendar and settings, the .ics file and FHIR Appointment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import rosters as core_rosters
from tenfour.core.errors import CoreError
from tenfour.errors import NotFound, ValidationFailed
from tenfour.fhir import appointments as fhir
from tenfour.infusions import service as infusions
from tenfour.patients import service as patients
from tenfour.policy import Permission, active_clinic_id
from tenfour.scheduling import clock, ics, planner, repository, selfbook, settings
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling import rosters as roster_service
from tenfour.scheduling.models import SchedulingRequest, SchedulingRun
from tenfour.scheduling.schemas import (
    CalendarEntryOut,
    CalendarOut,
    ClosureIn,
    ClosureOut,
    CommitOut,
    DutyChangeIn,
    DutyChangeOut,
    IntervalOut,
    NursesIn,
    ReasonIn,
    RequestIn,
    RequestOut,
    RescheduleIn,
    RescheduleOut,
    RosterIn,
    RosterOut,
    RosterPreviewIn,
    RosterPreviewOut,
    RunIn,
    RunOut,
    SelfBookIn,
    SettingsOut,
    SlotsOut,
)
from tenfour.web.deps import DbSession, RecordId, authorize, signed_in

router = APIRouter(prefix="/api/v1", tags=["scheduling"])
SignedIn = Annotated[Ctx, Depends(signed_in)]
View = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_VIEW))]
Manage = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_MANAGE))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
    404: {"description": "Not found in your clinics (or not your own record)"},
    409: {"description": "Not possible in the record's current state"},
    422: {"description": "Bad input or a rule not met: each problem names the field and the rule"}}


def working_clinic(db: Session, ctx: Ctx) -> Clinic:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    clinic = clinics_repository.by_id(db, clinic_id) if clinic_id else None
    if clinic is None:
        raise NotFound("You do not work in a clinic yet.")
    return clinic


# --- Rosters -----------------------------------------------------------------------------------------------


@router.post("/rosters/preview", response_model=RosterPreviewOut, responses=ERRORS)
def roster_preview(data: RosterPreviewIn, db: DbSession, ctx: SignedIn) -> RosterPreviewOut:
    """On-duty intervals (UTC) of a roster for ``days`` local days from ``start_date`` (default the anchor date).
    An unknown pattern, an anchor more than 10 years before or 2 years after today, a platoon the pattern lacks or
    overlapping custom blocks answer 422 naming the field and the rule."""
    blocks = [core_rosters.ShiftBlock(b.day, b.length_h, b.start_offset_h) for b in data.custom_blocks]
    today = datetime.now(UTC).date()
    try:
        intervals = core_rosters.preview(data.pattern, data.anchor_date, data.shift_start, data.platoon or "A",
                                         data.timezone, data.days, data.start_date,
                                         custom_cycle_days=data.custom_cycle_days, custom_blocks=blocks, today=today)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    return RosterPreviewOut(on_duty=[IntervalOut(start=i.start, end=i.end, source=str(i.source)) for i in intervals])


def _roster_out(db: Session, patient: Any) -> RosterOut:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    roster = roster_service.patient_roster(db, patient, clinic.timezone)
    now = clock.now()
    custom = repository.custom_rosters(db, [patient.id]).get(patient.id)
    return RosterOut(
        pattern=patient.roster_pattern, anchor_date=patient.roster_anchor_date,
        shift_start=patient.roster_shift_start.strftime("%H:%M") if patient.roster_shift_start else None,
        platoon=patient.roster_platoon, timezone=patient.timezone,
        custom_on_off_h=list(custom.on_off_h) if custom else None,
        on_duty_next_weeks=[IntervalOut(start=a, end=b) for a, b in
                            roster_service.on_duty(roster, now, now + timedelta(days=roster_service.CALENDAR_DAYS))],
        changes=[DutyChangeOut(id=c.id, kind=c.kind, start=c.start, end=c.end, note=c.note)
                 for c in repository.duty_changes(db, [patient.id], start=now - timedelta(days=1))])


@router.get("/me/roster", response_model=RosterOut, responses=ERRORS)
def my_roster(db: DbSession, ctx: SelfRead) -> RosterOut:
    """Your roster, your on-duty times for the next six weeks and your one-off changes."""
    return _roster_out(db, selfbook.own_patient(db, ctx))


@router.put("/me/roster", response_model=RosterOut, responses=ERRORS)
def save_my_roster(data: RosterIn, db: DbSession, ctx: SelfWrite) -> RosterOut:
    patient = selfbook.own_patient(db, ctx)
    roster_service.save_roster(db, ctx, patient, roster_service.RosterInput(
        data.pattern or None, data.anchor_date, data.shift_start, data.platoon, data.timezone, data.custom_on_off_h))
    return _roster_out(db, patient)


@router.post("/me/duty-changes", response_model=DutyChangeOut, status_code=201, responses=ERRORS)
def add_my_duty_change(data: DutyChangeIn, db: DbSession, ctx: SelfWrite) -> DutyChangeOut:
    """A one-off change: overtime or a traded-in shift (adds duty), a traded-out shift or leave (removes duty)."""
    patient = selfbook.own_patient(db, ctx)
    row = roster_service.add_duty_change(db, ctx, patient, kind=data.kind, start=data.start, end=data.end,
                                         note=data.note)
    return DutyChangeOut(id=row.id, kind=row.kind, start=row.start, end=row.end, note=row.note)


@router.delete("/me/duty-changes/{change_id}", status_code=204, responses=ERRORS)
def delete_my_duty_change(change_id: RecordId, db: DbSession, ctx: SelfWrite) -> Response:
    roster_service.delete_duty_change(db, ctx, selfbook.own_patient(db, ctx), change_id)
    return Response(status_code=204)


# --- Requests ----------------------------------------------------------------------------------------------


def _request_out(db: Session, row: SchedulingRequest, patient: Any, session_ids: list[int] | None = None) -> RequestOut:
    if session_ids is None:
        session_ids = repository.request_session_ids(db, [row.id])[row.id]
    return RequestOut(id=row.id, patient_id=row.patient_id, patient=f"{patient.first_name} {patient.last_name}",
                      kind=row.kind, sessions=row.sessions, earliest_start=row.earliest_start,
                      latest_end=row.latest_end, priority=row.priority, preferred_time=row.preferred_time,
                      status=row.status, source=row.source, note=row.note,
                      session_ids=session_ids)


@router.get("/scheduling/requests", response_model=list[RequestOut], responses=ERRORS)
def list_requests(db: DbSession, ctx: View,
                  status: Annotated[str | None, Query(description="waiting, scheduled or cancelled")] = "waiting"
                  ) -> list[RequestOut]:
    """The clinic's requests (waiting by default). Signed plans without sessions and accepted boosters join the list
    first."""
    clinic = working_clinic(db, ctx)
    requests_service.sync(db, ctx, clinic)
    rows = repository.requests(db, clinic.id, [status] if status else None)
    booked = repository.request_session_ids(db, [row.id for row, _ in rows])
    return [_request_out(db, row, patient, booked[row.id]) for row, patient in rows]


@router.post("/scheduling/requests", response_model=RequestOut, status_code=201, responses=ERRORS)
def create_request(data: RequestIn, db: DbSession, ctx: Manage) -> RequestOut:
    clinic = working_clinic(db, ctx)
    row = requests_service.create(db, ctx, clinic, patient_id=data.patient_id, kind=data.kind,
                                  earliest=data.earliest, latest=data.latest, priority=data.priority,
                                  preferred_time=data.preferred_time, sessions=data.sessions, note=data.note)
    return _request_out(db, row, patients.get_patient(db, ctx, row.patient_id, audit_action=None))


@router.post("/scheduling/requests/{request_id}/cancel", response_model=RequestOut, responses=ERRORS)
def cancel_request(request_id: RecordId, data: ReasonIn, db: DbSession, ctx: Manage) -> RequestOut:
    row = requests_service.cancel(db, ctx, request_id, data.reason)
    return _request_out(db, row, patients.get_patient(db, ctx, row.patient_id, audit_action=None))


# --- Runs ----------------------------------------------------------------------------------------------------


def run_out(row: SchedulingRun) -> RunOut:
    result = row.result or {}
    return RunOut(id=row.id, status=row.status, solver_status=row.solver_status, objective=row.objective,
                  best_bound=row.best_bound, gap=row.gap, solve_seconds=row.solve_seconds,
                  horizon_start=row.horizon_start, horizon_days=row.horizon_days,
                  sessions=result.get("sessions", []), unplaced=result.get("unplaced", []),
                  violations=result.get("violations", []), cpsat=result.get("cpsat", {}),
                  baseline=result.get("baseline", {}))


@router.post("/scheduling/runs", response_model=RunOut, status_code=201, responses=ERRORS)
def run_scheduler(data: RunIn, db: DbSession, ctx: Manage) -> RunOut:
    """Plan every waiting request with CP-SAT (time limit; its bound and gap reported) and the front desk's
    first-come-first-served answer beside it. A PREVIEW: nothing is booked until it is committed."""
    return run_out(planner.run(db, ctx, working_clinic(db, ctx), time_limit_s=data.time_limit_s,
                               horizon_days=data.horizon_days))


@router.get("/scheduling/runs/{run_id}", response_model=RunOut, responses=ERRORS)
def get_run(run_id: RecordId, db: DbSession, ctx: View) -> RunOut:
    return run_out(planner.get_run(db, ctx, run_id))


@router.post("/scheduling/runs/{run_id}/commit", response_model=CommitOut, responses=ERRORS)
def commit_run(run_id: RecordId, db: DbSession, ctx: Manage) -> CommitOut:
    """Book every session of the preview through the booking service, all or nothing (409 naming the rule)."""
    return CommitOut(run_id=run_id, session_ids=[s.id for s in planner.commit(db, ctx, run_id)])


@router.post("/scheduling/runs/{run_id}/discard", response_model=RunOut, responses=ERRORS)
def discard_run(run_id: RecordId, db: DbSession, ctx: Manage) -> RunOut:
    return run_out(planner.discard(db, ctx, run_id))


@router.post("/scheduling/sessions/{session_id}/reschedule", response_model=RescheduleOut, responses=ERRORS)
def reschedule(session_id: RecordId, data: RescheduleIn, db: DbSession, ctx: Manage) -> RescheduleOut:
    """Check a move (``confirm`` false) or make it (``confirm`` true). A move that breaks a rule of the series, the
    roster or the clinic answers 422 naming the rule; nothing moves unless confirmed."""
    _check, new = planner.reschedule(db, ctx, session_id, chair_id=data.chair_id, start=data.start,
                                     reason=data.reason, confirm=data.confirm)
    return RescheduleOut(ok=True, moved=new is not None, problems=[], session_id=new.id if new else None)


# --- The patient's own booking -----------------------------------------------------------------------------------


@router.get("/me/scheduling/requests/{request_id}/slots", response_model=SlotsOut, responses=ERRORS)
def my_slots(request_id: RecordId, db: DbSession, ctx: SelfRead,
             chosen: Annotated[list[str] | None, Query(max_length=12)] = None) -> SlotsOut:
    """The starts you may choose for the next session of your request, after those chosen so far; none of them is
    on duty or within the no-duty window before a shift."""
    offer = selfbook.offer(db, ctx, request_id, chosen or [])
    return SlotsOut(request_id=request_id, session_index=offer.choice.index, sessions=offer.choice.count,
                    chosen=offer.chosen, slots={d.isoformat(): starts for d, starts in offer.choice.by_date.items()})


@router.post("/me/scheduling/requests/{request_id}/book", response_model=list[int], status_code=201,
             responses=ERRORS)
def my_book(request_id: RecordId, data: SelfBookIn, db: DbSession, ctx: SelfWrite) -> list[int]:
    return [s.id for s in selfbook.book(db, ctx, request_id, [s.isoformat() for s in data.starts])]


CALENDAR: dict[int | str, dict[str, Any]] = {**ERRORS, 200: {"content": {"text/calendar": {}}}}


def _ics_response(db: Session, patient: Any) -> Response:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    window = float(infusions.rules_for(db, clinic).values["duty.no_duty_window_h"])
    body = ics.appointments_ics(repository.patient_sessions(db, patient.id, include_aborted=True), clinic, window,
                                clock.now())
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="tenfour-appointments.ics"',
                             "Cache-Control": "no-store"})


@router.get("/me/appointments.ics", responses=CALENDAR)
def my_ics(db: DbSession, ctx: SelfRead) -> Response:
    """Your infusion appointments as an iCalendar file (RFC 5545)."""
    patient = selfbook.own_patient(db, ctx)
    from tenfour.audit.service import record

    record(db, ctx.actor, "scheduling.ics_export", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id)
    return _ics_response(db, patient)


@router.get("/patients/{patient_id}/appointments.ics", responses=CALENDAR)
def patient_ics(patient_id: RecordId, db: DbSession, ctx: View) -> Response:
    patient = patients.get_patient(db, ctx, patient_id, audit_action="scheduling.ics_export")
    return _ics_response(db, patient)


# --- FHIR ------------------------------------------------------------------------------------------------------


def _appointment(db: Session, session: Any, base_url: str) -> dict[str, Any]:
    chair = repository.chairs(db, session.clinic_id)
    names = {c.id: c.name for c in chair}
    link = repository.link_for_session(db, session.id)
    series = None
    if link is not None:
        request = repository.request(db, link.request_id)
        if request is not None and request.sessions > 1:
            series = (link.session_index + 1, request.sessions)
    return fhir.appointment(session, names.get(session.chair_id, f"Chair {session.chair_id}"), base_url, series)


@router.get("/fhir/Appointment/{session_id}", responses=ERRORS)
def fhir_appointment(session_id: RecordId, request: Request, db: DbSession, ctx: View) -> dict[str, Any]:
    """An infusion session as a FHIR R4 Appointment."""
    session = infusions.get_session(db, ctx, session_id, audit_action="scheduling.fhir_export")
    return _appointment(db, session, request.app.state.settings.base_url)


@router.get("/fhir/Appointment", responses=ERRORS)
def fhir_appointments(request: Request, db: DbSession, ctx: View,
                      patient: Annotated[int, Query(ge=1, le=2_147_483_647)]) -> dict[str, Any]:
    """A patient's appointments as a FHIR searchset Bundle."""
    row = patients.get_patient(db, ctx, patient, audit_action="scheduling.fhir_export")
    base = request.app.state.settings.base_url
    return fhir.appointments_bundle([_appointment(db, s, base)
                                     for s in repository.patient_sessions(db, row.id, include_aborted=True)])


# --- Calendar and settings ----------------------------------------------------------------------------------------


@router.get("/scheduling/calendar", response_model=CalendarOut, responses=ERRORS)
def calendar(db: DbSession, ctx: View, start: Annotated[date | None, Query()] = None,
             days: Annotated[int, Query(ge=1, le=31)] = 7) -> CalendarOut:
    """Booked sessions by chair over ``days`` local days from ``start`` (default today), and closures."""
    clinic = working_clinic(db, ctx)
    zone = ZoneInfo(clinic.timezone)
    first = start or clock.now().astimezone(zone).date()
    lo = datetime.combine(first, time(), tzinfo=zone)
    hi = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
    rows = repository.calendar(db, clinic.id, lo, hi)
    from tenfour.audit.service import record

    record(db, ctx.actor, "scheduling.calendar_view", clinic_id=clinic.id, record_type="calendar",
           record_id=first.isoformat())
    closed = repository.closures(db, clinic.id, first, first + timedelta(days=days))
    return CalendarOut(start=first, days=days, closures=[c.day for c in closed],
                       sessions=[CalendarEntryOut(session_id=s.id, patient_id=p.id,
                                                  patient=f"{p.first_name} {p.last_name}", chair_id=c.id,
                                                  chair=c.name, start=s.scheduled_start, end=s.scheduled_end,
                                                  status=s.status) for s, p, c in rows])


def _settings_out(db: Session, clinic: Clinic) -> SettingsOut:
    from tenfour.scheduling.instance import nurses_by_weekday

    return SettingsOut(nurses=nurses_by_weekday(db, clinic.id),
                       closures=[ClosureOut(id=c.id, day=c.day, reason=c.reason)
                                 for c in repository.closures(db, clinic.id)])


@router.get("/scheduling/settings", response_model=SettingsOut, responses=ERRORS)
def get_settings(db: DbSession, ctx: View) -> SettingsOut:
    return _settings_out(db, working_clinic(db, ctx))


@router.put("/scheduling/settings/nurses", response_model=SettingsOut, responses=ERRORS)
def set_nurses(data: NursesIn, db: DbSession, ctx: Manage) -> SettingsOut:
    clinic = working_clinic(db, ctx)
    settings.set_nurses(db, ctx, clinic, data.nurses)
    return _settings_out(db, clinic)


@router.post("/scheduling/closures", response_model=ClosureOut, status_code=201, responses=ERRORS)
def add_closure(data: ClosureIn, db: DbSession, ctx: Manage) -> ClosureOut:
    row = settings.add_closure(db, ctx, working_clinic(db, ctx), data.day, data.reason)
    return ClosureOut(id=row.id, day=row.day, reason=row.reason)


@router.delete("/scheduling/closures/{closure_id}", status_code=204, responses=ERRORS)
def delete_closure(closure_id: RecordId, db: DbSession, ctx: Manage) -> Response:
    settings.delete_closure(db, ctx, working_clinic(db, ctx), closure_id)
    return Response(status_code=204)
