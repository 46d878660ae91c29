"""The chairside board (today's chairs, readable across a room), booking a chair, the discharge sheet (print and
PDF), and the infusion sections of the patient chart and the patient's own page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import crisis, policy
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import infusion as core
from tenfour.errors import NotFound, Problem, TenFourError, ValidationFailed
from tenfour.infusions import booking, clock, repository, service, views
from tenfour.infusions.discharge_pdf import discharge_pdf
from tenfour.patients.models import Patient
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.panels import own_panel, patient_panel, treatment_source
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Chart = Annotated[Ctx, Depends(authorize(Permission.INFUSION_CHART))]
Manage = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_MANAGE))]


def _clinic(db: Session, ctx: Ctx) -> Any:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    clinic = clinics_repository.by_id(db, clinic_id) if clinic_id else None
    if clinic is None:
        raise NotFound("You do not work in a clinic yet.")
    return clinic


# --- The board ----------------------------------------------------------------------------------------------


@router.get("/chairside")
def board(request: Request, db: DbSession, ctx: Chart,
          day: Annotated[date | None, Query(description="Local date; default today")] = None) -> Response:
    clinic = _clinic(db, ctx)
    rules = service.rules_for(db, clinic)
    now = clock.now()
    today = service.local_today(now, clinic.timezone)
    shown = day or today
    chairs = views.board(db, clinic, rules, shown, now)
    record_board_view(db, ctx, clinic.id, shown)
    context = {"chairs": chairs, "day": shown, "today": today, "is_today": shown == today, "clinic": clinic,
               "counts": views.summary_counts(chairs), "now": now, "rules": rules,
               "previous_day": shown - timedelta(days=1), "next_day": shown + timedelta(days=1),
               "Step": core.Step}
    template = "infusions/_board_grid.html" if request.headers.get("hx-request") else "infusions/board.html"
    return render(request, db, template, context, nav_key="chairside")


def record_board_view(db: Session, ctx: Ctx, clinic_id: int, day: date) -> None:
    from tenfour.audit.service import record

    record(db, ctx.actor, "infusion.board_view", clinic_id=clinic_id, record_type="chairside_board",
           record_id=day.isoformat())


# --- Booking ------------------------------------------------------------------------------------------------


def _booking_context(db: Session, ctx: Ctx, day: date, values: dict[str, Any], errors: FormErrors,
                     session_to_move: Any = None) -> dict[str, Any]:
    clinic = _clinic(db, ctx)
    rules = service.rules_for(db, clinic)
    start, end = views.day_bounds(day, clinic.timezone)
    booked = repository.for_clinic_between(db, clinic.id, start, end)
    by_chair: dict[int, list[Any]] = {}
    for session, patient, chair in booked:
        if session.status != core.Step.ABORTED.value:
            by_chair.setdefault(chair.id, []).append((session, patient))
    return {"clinic": clinic, "chairs": repository.chairs(db, clinic.id), "by_chair": by_chair,
            "candidates": repository.bookable_patients(db, clinic.id), "day": day, "values": values,
            "errors": errors, "rules": rules, "moving": session_to_move,
            "hours": (clinic.opening_hours or {}).get(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()],
                                                      [])}


def _parse_start(values: dict[str, Any], tz: str) -> datetime:
    problems = []
    try:
        day = date.fromisoformat(str(values.get("date") or ""))
    except ValueError:
        problems.append(Problem("date", "date", "choose a date"))
        day = None
    try:
        at = time.fromisoformat(str(values.get("time") or ""))
    except ValueError:
        problems.append(Problem("time", "time", "choose a time like 08:30"))
        at = None
    if problems or day is None or at is None:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz))


def _int(values: dict[str, Any], field: str, label: str) -> int:
    raw = str(values.get(field) or "")
    if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
        raise ValidationFailed.single(field, "required", f"choose {label}")
    return int(raw)


@router.get("/chairside/book")
def booking_form(request: Request, db: DbSession, ctx: Manage,
                 day: Annotated[date | None, Query()] = None,
                 patient_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    clinic = _clinic(db, ctx)
    shown = day or service.local_today(clock.now(), clinic.timezone)
    values = {"date": shown.isoformat(), "time": "08:00", "patient_id": str(patient_id or "")}
    return render(request, db, "infusions/book.html", _booking_context(db, ctx, shown, values, FormErrors()),
                  nav_key="chairside")


@router.post("/chairside/book")
async def book(request: Request, db: DbSession, ctx: Manage) -> Response:
    clinic = _clinic(db, ctx)
    values = form_values(await request.form())
    try:
        start = _parse_start(values, clinic.timezone)
        session = booking.book(db, ctx, patient_id=_int(values, "patient_id", "a patient"),
                               chair_id=_int(values, "chair_id", "a chair"), start=start)
    except TenFourError as error:
        db.rollback()
        try:
            day = date.fromisoformat(str(values.get("date")))
        except ValueError:
            day = service.local_today(clock.now(), clinic.timezone)
        return render(request, db, "infusions/book.html",
                      _booking_context(db, ctx, day, values, errors_from(error)),
                      status_code=error.status_code, nav_key="chairside")
    local = session.scheduled_start.astimezone(ZoneInfo(clinic.timezone))
    message = f"Booked for {local:%a %d %b at %H:%M}."
    if policy.can(ctx.principal, Permission.INFUSION_CHART):
        target = f"/chairside?day={local.date().isoformat()}"
    else:
        target = f"/patients/{session.patient_id}"
    return flash(request, RedirectResponse(target, status_code=303), message)


@router.get("/infusions/{session_id}/reschedule")
def reschedule_form(request: Request, db: DbSession, ctx: Manage, session_id: RecordId,
                    day: Annotated[date | None, Query()] = None) -> Response:
    session = service.get_session(db, ctx, session_id)
    clinic = service.clinic_of(db, session)
    local = session.scheduled_start.astimezone(ZoneInfo(clinic.timezone))
    shown = day or local.date()
    values = {"date": shown.isoformat(), "time": local.strftime("%H:%M"), "chair_id": str(session.chair_id),
              "patient_id": str(session.patient_id)}
    return render(request, db, "infusions/book.html",
                  _booking_context(db, ctx, shown, values, FormErrors(), session_to_move=session),
                  nav_key="chairside")


@router.post("/infusions/{session_id}/reschedule")
async def reschedule(request: Request, db: DbSession, ctx: Manage, session_id: RecordId) -> Response:
    session = service.get_session(db, ctx, session_id, audit_action=None)
    clinic = service.clinic_of(db, session)
    values = form_values(await request.form())
    try:
        new = booking.reschedule(db, ctx, session_id, chair_id=_int(values, "chair_id", "a chair"),
                                 start=_parse_start(values, clinic.timezone), reason=values.get("reason"))
    except TenFourError as error:
        db.rollback()
        session = service.get_session(db, ctx, session_id, audit_action=None)
        try:
            day = date.fromisoformat(str(values.get("date")))
        except ValueError:
            day = session.scheduled_start.astimezone(ZoneInfo(clinic.timezone)).date()
        return render(request, db, "infusions/book.html",
                      _booking_context(db, ctx, day, {**values, "patient_id": str(session.patient_id)},
                                       errors_from(error), session_to_move=session),
                      status_code=error.status_code, nav_key="chairside")
    local = new.scheduled_start.astimezone(ZoneInfo(clinic.timezone))
    target = (f"/infusions/{new.id}" if policy.can(ctx.principal, Permission.INFUSION_CHART)
              else f"/patients/{new.patient_id}")
    return flash(request, RedirectResponse(target, status_code=303), f"Rescheduled to {local:%a %d %b at %H:%M}.")


@router.post("/infusions/{session_id}/cancel")
async def cancel(request: Request, db: DbSession, ctx: Manage, session_id: RecordId) -> Response:
    values = form_values(await request.form())
    try:
        session = service.cancel(db, ctx, session_id, values.get("reason"))
    except NotFound:
        raise
    except TenFourError as error:
        db.rollback()
        session = service.get_session(db, ctx, session_id, audit_action=None)
        reason = error.problems[0].message if error.problems else error.message
        return flash(request, RedirectResponse(f"/patients/{session.patient_id}#infusions", status_code=303),
                     f"Not cancelled: {reason}", "error")
    return flash(request, RedirectResponse(f"/patients/{session.patient_id}#infusions", status_code=303),
                 "Booking cancelled.")


# --- Discharge sheet ----------------------------------------------------------------------------------------


def sheet_context(db: Session, ctx: Ctx, session_id: int) -> dict[str, Any]:
    session = service.get_session(db, ctx, session_id, audit_action="infusion.discharge_sheet")
    row = repository.discharge(db, session.id)
    if row is None:
        raise NotFound("This session has no discharge yet.")
    clinic = service.clinic_of(db, session)
    patient = service.patient_of(db, ctx, session)
    return {"session": session, "discharge": row, "clinic": clinic, "patient": patient,
            "dose": repository.current_dose(db, session.id),
            "adverse_events": repository.adverse_events(db, session.id),
            "names": views.people(db, session, [row.discharged_by_id]), "tz": clinic.timezone,
            "crisis_lines": [*crisis.NATIONAL_LINES, *crisis.parse_clinic_lines(clinic.crisis_lines)]}


@router.get("/infusions/{session_id}/discharge-sheet")
def discharge_sheet(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return render(request, db, "infusions/discharge_sheet.html", sheet_context(db, ctx, session_id),
                  nav_key="chairside")


@router.get("/infusions/{session_id}/discharge-sheet.pdf")
def discharge_sheet_pdf(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    context = sheet_context(db, ctx, session_id)
    content = discharge_pdf(context)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="discharge-{session_id}.pdf"'})


# --- Sections of other pages --------------------------------------------------------------------------------


@treatment_source
def _infusion_times(db: Session, patient_id: int) -> list[datetime]:
    return repository.infusion_start_times(db, patient_id)


@patient_panel("infusions", "infusions/_patient_panel.html", order=30, permission=Permission.PATIENT_READ)
def _infusions_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    if not (policy.can(ctx.principal, Permission.INFUSION_CHART)
            or policy.can(ctx.principal, Permission.SCHEDULE_VIEW)):
        return None
    from tenfour.plans import repository as plans_repository

    sessions = repository.for_patient(db, patient.id)
    chairs = {c.id: c.name for c in repository.chairs(db, patient.clinic_id, active_only=False)}
    discharged = repository.discharges(db, [s.id for s in sessions if s.status == core.Step.DISCHARGED.value])
    return {"sessions": sessions, "chairs": chairs, "has_plan": plans_repository.current_signed_plan(
        db, patient.id) is not None, "discharges": {s.id: discharged.get(s.id) for s in sessions
                                                    if s.status == core.Step.DISCHARGED.value}}


@own_panel("infusions", "infusions/_own_panel.html", order=15)
def _own_infusions(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    now = clock.now()
    sessions = repository.for_patient(db, patient.id)
    upcoming = sorted((s for s in sessions if s.status == core.Step.SCHEDULED.value and s.scheduled_start > now),
                      key=lambda s: s.scheduled_start)
    last = repository.latest_discharge_for_patient(db, patient.id)
    if not upcoming and last is None:
        return None
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    values = effective_policy(db, patient.clinic_id)
    return {"upcoming": upcoming[:5], "last_discharge": last, "back_on_duty_pending": bool(
        last and last.return_to_duty_at > now), "clinic": clinic,
        "fasting_required": bool(values["precheck.fasting_required"]),
        "fasting_hours": views.number(values["precheck.fasting_hours"])}

